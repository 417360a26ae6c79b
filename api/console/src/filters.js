/* The recordings' filters, one shape for the recordings browser, the review queue and the reports'
 * drill-down, kept in the page's URL (#/recordings?counter=c1&since_s=…) so a link can be shared. */
export const FILTER_KEYS = ['q', 'site', 'counter', 'staff', 'since_s', 'until_s', 'rule', 'review_state', 'rating',
  'assessable', 'type']

/** The filters in a route's query (strings; missing ones empty). */
export function fromQuery(query) {
  return Object.fromEntries(FILTER_KEYS.map((k) => [k, query[k] === undefined ? '' : String(query[k])]))
}

/** The filters as a route query: empty ones left out. */
export function toQuery(f) {
  return Object.fromEntries(FILTER_KEYS.filter((k) => f[k] !== '' && f[k] !== null && f[k] !== undefined)
    .map((k) => [k, String(f[k])]))
}

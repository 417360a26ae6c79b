/* The labels people read, from the API's dictionary (数据字典: GET /dictionary) and the sites with
 * the names people use (GET /sites), loaded once per login. Nothing here is a copy of the API's
 * vocabulary: a label the dictionary does not know shows as the code itself. */
import { reactive } from 'vue'
import { get } from './api/http.js'

export const APP_TITLE = '窗口服务录音管理台'

export const dict = reactive({
  loaded: false,
  labels: {}, // kind -> {code: label}
  rules: {}, // id -> {id, type, label, severity, phrases}
  score: null, // {full, severity_points, missing_courtesy_points, pass, certain_confidence}
  ratingLevels: [],
  sites: [], // [{name, display_name, timezone, counters: [{id, name, display_name, label}], screens, staff}]
})

/** Load the dictionary and the sites (again after a login: another user sees other sites). */
export async function loadDictionary(role) {
  // a kiosk or a rating terminal reads the labels only, never the sites' counters and staff;
  // the counter staff read the labels but not the sites' rosters (GET /sites is not theirs)
  const noSites = role === 'kiosk' || role === 'rater' || role === 'staff'
  const [d, sites] = await Promise.all([get('/dictionary'), noSites ? Promise.resolve([]) : get('/sites')])
  dict.labels = d.labels
  dict.rules = Object.fromEntries(d.rules.map((r) => [r.id, r]))
  dict.score = d.score
  dict.ratingLevels = d.rating_levels
  dict.sites = sites
  dict.loaded = true
}

export function forgetDictionary() {
  Object.assign(dict, { loaded: false, sites: [] })
}

/** The Chinese label of `code` of `kind` (review_state, severity, speaker, ...). */
export const label = (kind, code) => ((dict.labels[kind] || {})[code] ?? code)
/** A rule's name, as the rulebook calls it. */
export const ruleLabel = (id) => (dict.rules[id] ? dict.rules[id].label : id)
export const siteOf = (name) => dict.sites.find((s) => s.name === name)
export const siteLabel = (name) => { const s = siteOf(name); return s ? s.display_name : name }
/** A counter's name as people use it (3号窗口), by site and counter id. */
export function counterLabel(site, counter) {
  const s = siteOf(site)
  const c = s && s.counters.find((x) => x.name === counter)
  return c ? c.label : `${counter} 号窗口`
}
export function screenLabel(site, screen) {
  const s = siteOf(site)
  const c = s && s.screens.find((x) => x.name === screen)
  return c ? c.label : screen
}
/** Rules as select options, forbidden ones first. */
export const ruleOptions = () => Object.values(dict.rules)
  .sort((a, b) => (a.type === b.type ? a.id.localeCompare(b.id) : a.type === 'forbidden' ? -1 : 1))
/** [code, label] pairs of a kind, in the dictionary's order. */
export const options = (kind) => Object.entries(dict.labels[kind] || {})

import { get, post } from './http.js'

/** Flags matching the filters: {items, total}. */
export const listFlags = (params) => get('/flags', params)
/** Confirm or dismiss a flag with a note. */
export const reviewFlag = (id, state, note) => post(`/flags/${id}/review`, { state, note })
/** Confirm or dismiss several flags with one note, all or none. */
export const reviewFlags = (ids, state, note) => post('/flags/review', { flag_ids: ids, state, note })
/** Each rule's measured precision (issue 14's GET /rules); null where the API has none. */
export async function listRules() {
  try {
    return await get('/rules')
  } catch (e) {
    return null
  }
}

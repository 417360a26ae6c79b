import { get, post } from './http.js'

export const listFlags = (params) => get('/flags', params)
/** Confirm or dismiss a flag with a note. */
export const reviewFlag = (id, state, note) => post(`/flags/${id}/review`, { state, note })

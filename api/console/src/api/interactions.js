import { apiUrl, get } from './http.js'

export const searchInteractions = (params) => get('/interactions/search', params)
export const getInteraction = (id) => get(`/interactions/${encodeURIComponent(id)}`)
/** The interaction's WAV (Range requests served); every fetch is written to the audit log. */
export const audioUrl = (id) => apiUrl(`/interactions/${encodeURIComponent(id)}/audio`)

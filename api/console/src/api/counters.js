import { apiUrl, get, patch } from './http.js'

export const listCounters = () => get('/counters')
export const renameCounter = (id, displayName) => patch(`/counters/${id}`, { display_name: displayName })
/** The live stream of a counter (audio/wav), for an <audio> element. */
export const liveUrl = (counterId) => apiUrl(`/counters/${counterId}/live`, { max_s: 3600 })

import { apiUrl, get, patch } from './http.js'

export const listCounters = () => get('/counters')
export const renameCounter = (id, displayName) => patch(`/counters/${id}`, { display_name: displayName })
/** The live stream of a counter (audio/wav), for an <audio> element. */
export const liveUrl = (counterId, listen) => apiUrl(`/counters/${counterId}/live`, { max_s: 3600, listen })
/** How far behind capture the player of stream `listen` is at `positionS` (its currentTime). */
export const liveDelay = (counterId, listen, positionS) =>
  get(`/counters/${counterId}/live/delay`, { listen, position_s: positionS.toFixed(3) })

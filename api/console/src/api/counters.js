import { apiUrl, get } from './http.js'

export const listCounters = () => get('/counters')
/** The live stream of a counter (audio/wav, about 1.2 s behind), for an <audio> element. */
export const liveUrl = (counterId) => apiUrl(`/counters/${counterId}/live`)

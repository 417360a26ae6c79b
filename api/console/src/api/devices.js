/* Device tokens of a site (admins): kiosks, rating terminals, screens, capture agents, event sources. */
import { del, get, post } from './http.js'

export const listDeviceTokens = (site) => get('/devices/tokens', { site })
/** role: kiosk | rater | agent; name: the kiosk's name, or the counter of a rater or an agent */
export const issueDevice = (body) => post('/devices', body)
export const revokeDeviceToken = (id) => del(`/devices/tokens/${id}`)

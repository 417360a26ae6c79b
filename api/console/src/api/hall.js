/* The hall's queue, rating terminal and work orders (issue 21). */
import { API, CSRF_HEADER, get, post, put } from './http.js'

export const queueServices = (site) => get('/queue/services', { site })
export const createService = (body) => post('/queue/services', body)
export const replaceService = (id, body) => put(`/queue/services/${id}`, body)
export const takeTicket = (site, serviceId) => post('/queue/tickets', { site, service_id: serviceId })
export const queueStats = (site) => get('/queue/stats', { site })
export const counterState = (id) => get(`/queue/counters/${id}`)
/** act: call-next | recall | skip | finish | pause | resume */
export const counterAct = (id, act) => post(`/queue/counters/${id}/${act}`)
export const transferTicket = (id, serviceId) => post(`/queue/counters/${id}/transfer`, { service_id: serviceId })
export const announcement = (eventId) => get(`/queue/calls/${eventId}/announcement`)

export const raterState = () => get('/ratings/terminal')
export const sendPress = (body) => post('/ratings/presses', body)
export const ratingsReport = (site, month) => get('/ratings/report', { site, month })
export const ratingsToday = (site) => get('/ratings/today', { site })

export const listWorkOrders = (params) => get('/work-orders', params)
export const getWorkOrder = (id) => get(`/work-orders/${id}`)
export const createWorkOrder = (body) => post('/work-orders', body)
export const transferWorkOrder = (id, body) => post(`/work-orders/${id}/transfer`, body)
export const replyWorkOrder = (id, text) => post(`/work-orders/${id}/reply`, { text })
export const callbackWorkOrder = (id, text) => post(`/work-orders/${id}/callback`, { text })
export const escalateDue = (site) => post('/work-orders/escalate', undefined, { site })
export const workOrderReport = (site, month) => get('/work-orders/report', { site, month })
export const departments = (site) => get('/work-orders/departments', { site })

/** Bind this browser to a kiosk or rating terminal: its token becomes the HttpOnly cookie. */
export async function bindDevice(token) {
  const r = await fetch(`${API}/devices/session`, {
    method: 'POST', credentials: 'same-origin', headers: { Authorization: `Bearer ${token}`, [CSRF_HEADER]: '1' },
  })
  if (!r.ok) throw new Error(String(r.status))
}

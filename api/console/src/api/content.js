import { apiUrl, get, post, request } from './http.js'

export const listContent = (site) => get('/signage/content', { site })
export const uploadContent = (site, name, file) =>
  request('/signage/content', { method: 'POST', params: { site, name }, raw: file })
export const createText = (body) => post('/signage/content/text', body)
export const editText = (id, body) => request(`/signage/content/${id}`, { method: 'PATCH', body })
export const deleteContent = (id) => request(`/signage/content/${id}`, { method: 'DELETE' })
/** The file of an image or video (for <img>/<video>; the cookie authenticates it). */
export const contentUrl = (id) => apiUrl(`/signage/content/${id}`)

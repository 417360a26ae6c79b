import { get, post, put, request } from './http.js'

export const listLayouts = (site) => get('/signage/layouts', { site })
export const createLayout = (body) => post('/signage/layouts', body)
export const updateLayout = (id, body) => put(`/signage/layouts/${id}`, body)
export const deleteLayout = (id) => request(`/signage/layouts/${id}`, { method: 'DELETE' })

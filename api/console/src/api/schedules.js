import { get, post, put, request } from './http.js'

export const listSchedules = (site) => get('/signage/schedules', { site })
export const createSchedule = (body) => post('/signage/schedules', body)
export const updateSchedule = (id, body) => put(`/signage/schedules/${id}`, body)
export const deleteSchedule = (id) => request(`/signage/schedules/${id}`, { method: 'DELETE' })

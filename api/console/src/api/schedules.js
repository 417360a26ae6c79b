import { get, post, request } from './http.js'

export const listSchedules = (site) => get('/signage/schedules', { site })
export const createSchedule = (body) => post('/signage/schedules', body)
export const deleteSchedule = (id) => request(`/signage/schedules/${id}`, { method: 'DELETE' })

import { get, post, request } from './http.js'

export const listComplaints = (params) => get('/complaints', params)
export const createComplaint = (body) => post('/complaints', body)
export const answerComplaint = (id, finding) =>
  request(`/complaints/${id}`, { method: 'PATCH', body: { finding, state: 'answered' } })

import { del, get, patch, post, put } from './http.js'

export const listComplaints = (params) => get('/complaints', params)
export const createComplaint = (body) => post('/complaints', body)
/** Change fields and/or record the finding (answered complaints stay editable). */
export const editComplaint = (id, body) => patch(`/complaints/${id}`, body)
export const complaintHistory = (id) => get(`/complaints/${id}/history`)
/** The user's own draft of a form: "new", or "complaint-<id>" (kept on the server). */
export const getDraft = (form) => get(`/complaints/drafts/${form}`)
export const saveDraft = (form, data) => put(`/complaints/drafts/${form}`, { data })
export const deleteDraft = (form) => del(`/complaints/drafts/${form}`)

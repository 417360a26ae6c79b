import { get } from './http.js'

/** Audit rows newest first: {items, total}. */
export const listAudit = (params) => get('/audit', params)

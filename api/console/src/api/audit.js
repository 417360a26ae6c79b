import { apiUrl, get } from './http.js'

/** Audit rows newest first: {items, total}. */
export const listAudit = (params) => get('/audit', params)
/** The URL of the matching rows as a CSV file (the download itself is audited). */
export const auditCsvUrl = (params) => apiUrl('/audit/export', params)

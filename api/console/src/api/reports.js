import { apiUrl, get } from './http.js'

export const monthlyReport = (month, site) => get('/reports/monthly', { month, site })
export const trend = (month, site, months = 6) => get('/reports/trend', { month, site, months })
/** The CSV / XLSX download of the same report (the cookie authenticates the download). */
export const monthlyFileUrl = (month, site, format) => apiUrl('/reports/monthly', { month, site, format })

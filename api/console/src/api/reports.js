import { apiUrl, get } from './http.js'

export const monthlyReport = (month, site) => get('/reports/monthly', { month, site })
/** The CSV download of the same report (the cookie authenticates the download). */
export const monthlyCsvUrl = (month, site) => apiUrl('/reports/monthly', { month, site, format: 'csv' })

import { get, post } from './http.js'

/** The site's open emergency notices, newest first. */
export const listInterrupts = (site) => get('/signage/interrupts', { site })
export const startInterrupt = (body) => post('/signage/interrupts', body)
export const clearInterrupt = (id) => post(`/signage/interrupts/${id}/clear`)

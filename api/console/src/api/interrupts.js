import { get, post } from './http.js'

/** The site's emergency notices, newest first: those on the screens now, or (all) the history. */
export const listInterrupts = (site, all = false) => get('/signage/interrupts', { site, open: all ? 'false' : undefined })
export const startInterrupt = (body) => post('/signage/interrupts', body)
export const clearInterrupt = (id) => post(`/signage/interrupts/${id}/clear`)

import { get, post } from './http.js'

const screen = (name) => `/signage/screens/${encodeURIComponent(name)}`
export const listScreens = () => get('/signage/screens')
/** Register a screen (again: a new token); the answer holds the token, once. */
export const registerScreen = (body) => post('/signage/screens', body)
export const previewScreen = (name, at) => get(`${screen(name)}/preview`, { at })
export const listPlays = (name, params) => get(`${screen(name)}/plays`, params)

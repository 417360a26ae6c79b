import { apiUrl, get, patch, post } from './http.js'

const screen = (name) => `/signage/screens/${encodeURIComponent(name)}`
export const listScreens = () => get('/signage/screens')
/** Register a screen (again: a new token); the answer holds the token, once. */
export const registerScreen = (body) => post('/signage/screens', body)
export const renameScreen = (name, displayName) => patch(screen(name), { display_name: displayName })
/** Replace the screen's display groups; schedules aimed at a group follow at its next manifest. */
export const setScreenGroups = (name, groups) => patch(screen(name), { groups })
export const previewScreen = (name, at) => get(`${screen(name)}/preview`, { at })
/** The screen's picture, drawn by the player's own renderer (ticker included). */
export const previewPngUrl = (name, at) => apiUrl(`${screen(name)}/preview.png`, { at })
export const listPlays = (name, params) => get(`${screen(name)}/plays`, params)
/** Proof of play per content item with totals; the CSV of it. */
export const playsReport = (params) => get('/signage/plays/report', params)
/** Share of voice: per interrupt-content schedule, screen and hour, seconds played against the share. */
export const shareReport = (params) => get('/signage/plays/share', params)
export const playsReportCsvUrl = (params) => apiUrl('/signage/plays/report', { ...params, format: 'csv' })
/** The screen's own picture: when, its size, what the player said with it (404 before the first). */
export const screenshotInfo = (name) => get(`${screen(name)}/screenshot`)
export const screenshotImgUrl = (name) => apiUrl(`${screen(name)}/screenshot.img`)
/** Ask the screen for a picture now (it sends one at its next manifest poll). */
export const requestScreenshot = (name) => post(`${screen(name)}/screenshot/request`)

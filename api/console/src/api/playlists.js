import { get, post, request } from './http.js'

export const listPlaylists = (site) => get('/signage/playlists', { site })
export const createPlaylist = (body) => post('/signage/playlists', body)
export const updatePlaylist = (id, body) => request(`/signage/playlists/${id}`, { method: 'PUT', body })
export const deletePlaylist = (id) => request(`/signage/playlists/${id}`, { method: 'DELETE' })

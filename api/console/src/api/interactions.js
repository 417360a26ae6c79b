import { apiUrl, get } from './http.js'

/** The recordings browser: {total, items} of interactions matching the filters (and phrase q). */
export const listInteractions = (params) => get('/interactions', params)
export const getInteraction = (id) => get(`/interactions/${encodeURIComponent(id)}`)
/** The interaction's WAV (Range requests served); every fetch is written to the audit log. */
export const audioUrl = (id) => apiUrl(`/interactions/${encodeURIComponent(id)}/audio`)
/** The transcript as a file: txt, srt or docx (audited). */
export const transcriptUrl = (id, format) => apiUrl(`/interactions/${encodeURIComponent(id)}/transcript`, { format })
/** The evidence file (FLAC), with its SHA-256 in X-Content-SHA256 (supervisors; audited). */
export const evidenceUrl = (id) => apiUrl(`/interactions/${encodeURIComponent(id)}/evidence`, { format: 'flac' })

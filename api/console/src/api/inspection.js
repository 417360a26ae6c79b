import { get, post, request } from './http.js'

/* The inspection loop: a staff member's own page, appeals, an interaction's score and the
 * supervisor's override (issue 20 items 3-4, issue 19 item 4). */

/** The staff member's own interactions: {items, total}. */
export const myInteractions = (params) => get('/my/interactions', params)
export const myInteraction = (id) => get(`/my/interactions/${encodeURIComponent(id)}`)
/** Mark one of my findings read (已阅). */
export const acknowledge = (flagId) => post(`/my/findings/${encodeURIComponent(flagId)}/ack`)
/** Appeal one of my findings with a reason. */
export const appeal = (flagId, reason) => post(`/my/findings/${encodeURIComponent(flagId)}/appeal`, { reason })
export const myAppeals = () => get('/my/appeals')

/** Appeals of the visible sites: {items, total}. */
export const listAppeals = (params) => get('/appeals', params)
/** Uphold ('upheld') or overturn ('overturned') an appeal with a note. */
export const ruleAppeal = (id, verdict, note) => post(`/appeals/${encodeURIComponent(id)}/ruling`, { verdict, note })
export const setAppealWindow = (site, days) => request(`/appeals/window/${encodeURIComponent(site)}`, { method: 'PUT', body: { days } })

/** An interaction's score with its breakdown, and what supervisors decided about it. */
export const getScore = (id) => get(`/interactions/${encodeURIComponent(id)}/score`)
/** Mark an interaction 可判定 (true) or 无法判定 (false) with a reason. */
export const setAssessable = (id, assessable, reason) => post(`/interactions/${encodeURIComponent(id)}/assessable`, { assessable, reason })
/** Add a finding by hand at `at_s` seconds into the interaction. */
export const addFinding = (id, body) => post(`/interactions/${encodeURIComponent(id)}/findings`, body)
export const withdrawFinding = (manualId) => post(`/manual-findings/${encodeURIComponent(manualId)}/withdraw`)

/** Every correction of an interaction's transcript lines (原识别 beside 更正, each line's newest version first). */
export const listCorrections = (id) => get(`/interactions/${encodeURIComponent(id)}/corrections`)
/** Correct one line (segment_id) with the text as said and a reason: {correction, raised, superseded}. */
export const correctLine = (id, body) => post(`/interactions/${encodeURIComponent(id)}/corrections`, body)

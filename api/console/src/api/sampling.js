import { del, get, post, put } from './http.js'

/* Sampling (抽检, issue 20 item 2): plans, their draws, my sampled interactions and their scores. */

export const listPlans = (params) => get('/sampling/plans', params)
/** Who may review the site's sampled interactions (the plan form's 审核人): [{id, name}]. */
export const listReviewers = (site) => get('/sampling/reviewers', { site })
export const createPlan = (body) => post('/sampling/plans', body)
export const updatePlan = (id, body) => put(`/sampling/plans/${encodeURIComponent(id)}`, body)
export const stopPlan = (id) => del(`/sampling/plans/${encodeURIComponent(id)}`)
/** Draw the plan's day (or week) holding `day` (YYYY-MM-DD); a period drawn before comes back unchanged. */
export const drawPlan = (id, day) => post(`/sampling/plans/${encodeURIComponent(id)}/draws`, { day })
export const listDraws = (id) => get(`/sampling/plans/${encodeURIComponent(id)}/draws`)
/** My sampled interactions (我的抽检任务): {items, total}. */
export const myAssignments = (params) => get('/sampling/assignments', params)
/** The draws that sampled this interaction ([] when not sampled). */
export const sampledIn = (interactionId) => get(`/sampling/interactions/${encodeURIComponent(interactionId)}`)
/** Record the sampled interaction's score with a note (the assigned reviewer). */
export const recordScore = (assignmentId, note) => post(`/sampling/assignments/${encodeURIComponent(assignmentId)}/score`, { note })

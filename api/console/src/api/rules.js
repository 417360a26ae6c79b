import { get, post } from './http.js'

/** The rulebook in force and each rule's measured precision. */
export const listRules = (params) => get('/rules', params)
/** Try a draft rule or rulebook on a period's stored transcripts (changes nothing). */
export const benchRules = (body) => post('/rules/bench', body)
/** Make the draft the rulebook in force and re-analyse the period (admins). */
export const applyRules = (body) => post('/rules/bench/apply', body)

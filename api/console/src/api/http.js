/* The one place that calls the API. No token is ever kept by the console: login sets an
 * HttpOnly session cookie, and every call (and every <audio>/<img> source) is authenticated by
 * it. A 401 on any call but the login itself ends the session (see session.js). Every call
 * sends `X-Counterwatch: 1`: the server refuses a cookie session's change without it (CSRF:
 * a form or a no-cors fetch from another page cannot send it). */
import { ApiError } from '../errors.js'

export const API = '/api/v1'
export const CSRF_HEADER = 'X-Counterwatch'
let unauthorized = () => {}

/** Called on a 401 answer: the session has expired or was ended elsewhere. */
export function onUnauthorized(fn) {
  unauthorized = fn
}

/** The URL of an API path with query parameters (empty ones left out). */
export function apiUrl(path, params) {
  let url = API + path
  if (params) {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v)
    if ([...q].length) url += `?${q}`
  }
  return url
}

/** A call to the API; `body` goes as JSON, `raw` (a File or Blob) as the request body itself.
 * Throws ApiError; `session: false` keeps a 401 from ending the session (login, first look). */
export async function request(path, { method = 'GET', body, params, raw, session = true } = {}) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json', [CSRF_HEADER]: '1' } }
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json'
    opts.body = JSON.stringify(body)
  }
  if (raw !== undefined) {
    opts.headers['Content-Type'] = raw.type || 'application/octet-stream'
    opts.body = raw
  }
  let r
  try {
    r = await fetch(apiUrl(path, params), opts)
  } catch (e) {
    throw new ApiError(0, null)
  }
  if (!r.ok) {
    let detail = null
    try {
      detail = (await r.json()).detail
    } catch (e) {
      // not JSON: the status alone says what happened
    }
    if (r.status === 401 && session) unauthorized()
    const wait = Number.parseInt(r.headers.get('Retry-After') || '', 10)
    throw new ApiError(r.status, detail, Number.isFinite(wait) ? wait : null)
  }
  if (r.status === 204) return null
  const data = await r.json()
  const total = r.headers.get('X-Total-Count')
  return total === null ? data : { items: data, total: Number(total) }
}

export const get = (path, params) => request(path, { params })
export const post = (path, body, params) => request(path, { method: 'POST', body, params })
export const put = (path, body) => request(path, { method: 'PUT', body })
export const patch = (path, body) => request(path, { method: 'PATCH', body })
export const del = (path) => request(path, { method: 'DELETE' })

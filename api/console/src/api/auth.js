import { request } from './http.js'

/** Log in: the answer sets the HttpOnly session cookie, the only place the session token is
 * (the answer's body says who logged in, never the token). */
export const login = (name, password) =>
  request('/auth/login', { method: 'POST', body: { name, password }, session: false })
export const logout = () => request('/auth/logout', { method: 'POST', session: false })
export const me = () => request('/auth/me', { session: false })

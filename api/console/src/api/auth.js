import { request } from './http.js'

/** Log in: the answer sets the HttpOnly session cookie (its token field is for API clients;
 * the console ignores it). */
export const login = (name, password) =>
  request('/auth/login', { method: 'POST', body: { name, password }, session: false })
export const logout = () => request('/auth/logout', { method: 'POST', session: false })
export const me = () => request('/auth/me', { session: false })

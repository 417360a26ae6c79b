/* Who is logged in. The console keeps no token: the HttpOnly cookie is the session, and
 * GET /auth/me tells whether it is still good. */
import { reactive } from 'vue'
import * as auth from './api/auth.js'

export const session = reactive({
  me: null, // {id, name, role, sites}
  checked: false, // /auth/me asked once since the page loaded
  expired: false, // a call answered 401 while logged in
})

export const canReview = () => !!session.me && (session.me.role === 'admin' || session.me.role === 'supervisor')

/** Ask the server who the cookie belongs to (null: nobody). */
export async function loadMe() {
  try {
    session.me = await auth.me()
  } catch (e) {
    if (e.status !== 401) throw e
    session.me = null
  } finally {
    session.checked = true
  }
  return session.me
}

export async function logIn(name, password) {
  await auth.login(name, password)
  session.expired = false
  return loadMe()
}

export async function logOut() {
  try {
    await auth.logout()
  } catch (e) {
    // already logged out
  }
  session.me = null
}

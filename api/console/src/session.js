/* Who is logged in. The console keeps no token: the HttpOnly cookie is the session, and
 * GET /auth/me tells whether it is still good. The dictionary (labels, sites) is loaded for
 * each login. */
import { reactive } from 'vue'
import * as auth from './api/auth.js'
import { forgetDictionary, loadDictionary } from './dictionary.js'

export const session = reactive({
  me: null, // {id, name, role, sites}
  checked: false, // /auth/me asked once since the page loaded
  expired: false, // a call answered 401 while logged in
  notice: '', // why the last navigation went elsewhere (a page the role may not open)
})

export const canReview = () => !!session.me && (session.me.role === 'admin' || session.me.role === 'supervisor')
/** The hall's devices (取号机, 评价器) and department handlers see their own pages only. */
export const isDevice = () => !!session.me && (session.me.role === 'kiosk' || session.me.role === 'rater')
export const isHandler = () => !!session.me && session.me.role === 'handler'
export const isAdmin = () => !!session.me && session.me.role === 'admin'
/** A member of the counter staff: sees their own page only (我的服务记录). */
export const isStaff = () => !!session.me && session.me.role === 'staff'
/** The page a user starts on. */
export const home = () => (isStaff() ? '/mine' : '/counters')

/** Ask the server who the cookie belongs to (null: nobody). */
export async function loadMe() {
  try {
    session.me = await auth.me()
    if (session.me) await loadDictionary(session.me.role)
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
  forgetDictionary()
  return loadMe()
}

export async function logOut() {
  try {
    await auth.logout()
  } catch (e) {
    // already logged out
  }
  session.me = null
  forgetDictionary()
}

/* The console's router (hash history: the server serves one HTML page); the pages and who may
 * open them are in routes.js. */
import { watch } from 'vue'
import { createRouter, createWebHashHistory } from 'vue-router'
import { onUnauthorized } from './api/http.js'
import { APP_TITLE } from './dictionary.js'
import { live, resume } from './live.js'
import { guard, routes } from './routes.js'
import { canReview, isDevice, session } from './session.js'

export { safeRedirect } from './routes.js'

export const router = createRouter({ history: createWebHashHistory(), routes })

router.beforeEach(guard)

// Live listening rides along in the address: a reload resumes it, every page keeps it.
router.beforeEach((to) => {
  if (to.meta.bare || to.name === 'login' || !session.me || isDevice()) return true
  const wanted = /^[1-9][0-9]{0,9}$/.test(to.query.live || '') ? Number(to.query.live) : null
  if (canReview() && wanted && !live.counter) resume(wanted)
  if (live.counter && to.query.live !== String(live.counter.id)) return { path: to.path, hash: to.hash, query: { ...to.query, live: String(live.counter.id) } }
  if (!live.counter && to.query.live) {
    const rest = { ...to.query }
    delete rest.live
    return { path: to.path, hash: to.hash, query: rest }
  }
  return true
})

// Starting or stopping listening updates the address of the page being shown.
watch(() => live.counter && live.counter.id, (id) => {
  const here = router.currentRoute.value
  if (!here.name || here.name === 'login' || String(here.query.live || '') === String(id || '')) return
  const query = { ...here.query }
  if (id) query.live = String(id)
  else delete query.live
  router.replace({ path: here.path, hash: here.hash, query })
})

router.afterEach((to, from) => {
  if (from.name && to.name !== 'counters') session.notice = ''
  const titles = to.matched.map((r) => r.meta.title).filter(Boolean).reverse()
  document.title = [...titles, APP_TITLE].join(' · ')
})

// A 401 while logged in: the session has expired. Back to the login page, then to this page.
onUnauthorized(() => {
  if (!session.me) return
  session.me = null
  session.expired = true
  const here = router.currentRoute.value
  router.replace({ name: 'login', query: here.name === 'login' ? {} : { redirect: here.fullPath } })
})

/* The console's router (hash history: the server serves one HTML page); the pages and who may
 * open them are in routes.js. */
import { createRouter, createWebHashHistory } from 'vue-router'
import { onUnauthorized } from './api/http.js'
import { APP_TITLE } from './dictionary.js'
import { guard, routes } from './routes.js'
import { session } from './session.js'

export { safeRedirect } from './routes.js'

export const router = createRouter({ history: createWebHashHistory(), routes })

router.beforeEach(guard)

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

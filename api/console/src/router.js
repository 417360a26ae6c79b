/* Pages of the console (hash history: the server serves one HTML page). Each page is its own
 * module, loaded when first opened. */
import { createRouter, createWebHashHistory } from 'vue-router'
import { onUnauthorized } from './api/http.js'
import { APP_TITLE } from './labels.js'
import { canReview, loadMe, session } from './session.js'

const routes = [
  { path: '/', redirect: '/counters' },
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { title: '登录', public: true } },
  { path: '/counters', name: 'counters', component: () => import('./views/CountersView.vue'), meta: { title: '窗口状态' } },
  { path: '/search', name: 'search', component: () => import('./views/SearchView.vue'), meta: { title: '录音检索' } },
  {
    path: '/interaction/:id(\\d+)', name: 'interaction', component: () => import('./views/InteractionView.vue'),
    meta: { title: '录音详情' },
  },
  { path: '/review', name: 'review', component: () => import('./views/ReviewView.vue'), meta: { title: '待审核', supervisor: true } },
  {
    path: '/complaints', name: 'complaints', component: () => import('./views/ComplaintsView.vue'),
    meta: { title: '投诉处理', supervisor: true },
  },
  { path: '/rules', name: 'rules', component: () => import('./views/RuleBench.vue'), meta: { title: '规则试验台', supervisor: true } },
  { path: '/reports', name: 'reports', component: () => import('./views/ReportsView.vue'), meta: { title: '月度报表', supervisor: true } },
  {
    path: '/signage', component: () => import('./views/SignageView.vue'), meta: { title: '屏幕节目', supervisor: true },
    children: [
      { path: '', redirect: '/signage/screens' },
      { path: 'screens', name: 'sg-screens', component: () => import('./views/signage/ScreensView.vue'), meta: { title: '屏幕' } },
      { path: 'content', name: 'sg-content', component: () => import('./views/signage/ContentView.vue'), meta: { title: '素材库' } },
      { path: 'playlists', name: 'sg-playlists', component: () => import('./views/signage/PlaylistsView.vue'), meta: { title: '播放列表' } },
      { path: 'schedules', name: 'sg-schedules', component: () => import('./views/signage/SchedulesView.vue'), meta: { title: '排期' } },
      { path: 'interrupts', name: 'sg-interrupts', component: () => import('./views/signage/InterruptsView.vue'), meta: { title: '紧急通知' } },
      { path: 'preview', name: 'sg-preview', component: () => import('./views/signage/PreviewView.vue'), meta: { title: '预览与播放记录' } },
    ],
  },
  { path: '/:rest(.*)*', redirect: '/counters' },
]

export const router = createRouter({ history: createWebHashHistory(), routes })

/** A path to return to after login: only one of this console's own pages. */
export function safeRedirect(path) {
  return typeof path === 'string' && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/login')
    ? path : '/counters'
}

router.beforeEach(async (to) => {
  if (!session.checked) {
    try {
      await loadMe()
    } catch (e) {
      session.me = null // the server cannot be reached: the login page says so when used
    }
  }
  if (to.name === 'login') return session.me ? safeRedirect(to.query.redirect) : true
  if (!session.me) return { name: 'login', query: to.fullPath === '/counters' ? {} : { redirect: to.fullPath } }
  if (to.matched.some((r) => r.meta.supervisor) && !canReview()) return { name: 'counters' }
  return true
})

router.afterEach((to) => {
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

/* Pages of the console (hash history: the server serves one HTML page). Each page is its own
 * module, loaded when first opened, with its own title. */
import { watch } from 'vue'
import { createRouter, createWebHashHistory } from 'vue-router'
import { onUnauthorized } from './api/http.js'
import { APP_TITLE } from './dictionary.js'
import { live, resume } from './live.js'
import { canReview, home, isAdmin, isDevice, isHandler, isStaff, loadMe, session } from './session.js'

const page = (name, title, load, meta = {}) => ({ name, component: load, meta: { title, ...meta } })
const routes = [
  { path: '/', redirect: () => home() },
  { path: '/login', ...page('login', '登录', () => import('./views/LoginView.vue'), { public: true }) },
  { path: '/counters', ...page('counters', '窗口状态', () => import('./views/CountersView.vue')) },
  { path: '/recordings', ...page('recordings', '录音查询', () => import('./views/RecordingsView.vue')) },
  // the old search page's links (#/search?q=…) open the recordings browser with that phrase
  { path: '/search', redirect: (to) => ({ name: 'recordings', query: to.query }) },
  { path: '/interaction/:id(\\d+)', ...page('interaction', '录音详情', () => import('./views/InteractionView.vue')) },
  { path: '/mine', ...page('mine', '我的服务记录', () => import('./views/MineView.vue'), { staff: true }) },
  { path: '/appeals', ...page('appeals', '申诉处理', () => import('./views/AppealsView.vue'), { supervisor: true }) },
  { path: '/review', ...page('review', '复核工作台', () => import('./views/ReviewView.vue'), { supervisor: true }) },
  { path: '/complaints', ...page('complaints', '投诉处理', () => import('./views/ComplaintsView.vue'), { supervisor: true }) },
  { path: '/rules', ...page('rules', '规则试验台', () => import('./views/RuleBench.vue'), { supervisor: true }) },
  { path: '/reports', ...page('reports', '月度报表', () => import('./views/ReportsView.vue'), { supervisor: true }) },
  { path: '/queue-counter', ...page('queue-counter', '窗口叫号', () => import('./views/QueueCounterView.vue'), { supervisor: true }) },
  { path: '/work-orders', ...page('work-orders', '工单督办', () => import('./views/WorkOrdersView.vue'), { handler: true }) },
  { path: '/ratings', ...page('ratings', '服务评价', () => import('./views/RatingsView.vue'), { supervisor: true }) },
  { path: '/kiosk', ...page('kiosk', '自助取号', () => import('./views/KioskView.vue'), { public: true, bare: true }) },
  { path: '/rater', ...page('rater', '服务评价器', () => import('./views/RaterView.vue'), { public: true, bare: true }) },
  { path: '/audit', ...page('audit', '审计日志', () => import('./views/AuditView.vue'), { admin: true }) },
  {
    path: '/signage', component: () => import('./views/SignageView.vue'), meta: { title: '屏幕节目', supervisor: true },
    children: [
      { path: '', redirect: '/signage/screens' },
      { path: 'screens', ...page('sg-screens', '屏幕', () => import('./views/signage/ScreensView.vue')) },
      { path: 'content', ...page('sg-content', '素材库', () => import('./views/signage/ContentView.vue')) },
      { path: 'playlists', ...page('sg-playlists', '播放列表', () => import('./views/signage/PlaylistsView.vue')) },
      { path: 'schedules', ...page('sg-schedules', '排期', () => import('./views/signage/SchedulesView.vue')) },
      { path: 'interrupts', ...page('sg-interrupts', '紧急通知', () => import('./views/signage/InterruptsView.vue')) },
      { path: 'preview', ...page('sg-preview', '预览与播放记录', () => import('./views/signage/PreviewView.vue')) },
    ],
  },
  { path: '/:rest(.*)*', redirect: () => home() },
]

export const router = createRouter({ history: createWebHashHistory(), routes })

// Starting or stopping listening updates the address of the page being shown.
watch(() => live.counter && live.counter.id, (id) => {
  const here = router.currentRoute.value
  if (!here.name || here.name === 'login' || String(here.query.live || '') === String(id || '')) return
  const query = { ...here.query }
  if (id) query.live = String(id)
  else delete query.live
  router.replace({ path: here.path, hash: here.hash, query })
})

/** A path to return to after login: only one of this console's own pages. */
export function safeRedirect(path) {
  return typeof path === 'string' && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/login')
    ? path : home()
}

router.beforeEach(async (to) => {
  if (!session.checked) {
    try {
      await loadMe()
    } catch (e) {
      session.me = null // the server cannot be reached: the login page says so when used
    }
  }
  // the kiosk and the rating terminal bind themselves on their own page, and stay there
  if (to.meta.bare) return true
  if (isDevice()) return { name: session.me.role === 'kiosk' ? 'kiosk' : 'rater' }
  if (to.name === 'login') return session.me ? safeRedirect(to.query.redirect) : true
  // Live listening rides along in the address: a reload resumes it, every page keeps it.
  const wanted = /^[1-9][0-9]{0,9}$/.test(to.query.live || '') ? Number(to.query.live) : null
  if (session.me && canReview() && wanted && !live.counter) resume(wanted)
  if (live.counter && to.query.live !== String(live.counter.id)) return { path: to.path, hash: to.hash, query: { ...to.query, live: String(live.counter.id) } }
  if (!live.counter && to.query.live) {
    const rest = { ...to.query }
    delete rest.live
    return { path: to.path, hash: to.hash, query: rest }
  }
  if (!session.me) return { name: 'login', query: to.fullPath === '/counters' ? {} : { redirect: to.fullPath } }
  const title = to.matched.map((r) => r.meta.title).filter(Boolean).pop()
  if (isHandler()) return to.name === 'work-orders' ? true : { name: 'work-orders' }
  // The counter staff have one page, their own; the other pages are not theirs (and the reverse).
  if (isStaff() !== to.matched.some((r) => r.meta.staff)) {
    if (isStaff()) return { name: 'mine' }
    session.notice = `您的角色无权打开“${title}”页面，已回到窗口状态。`
    return { name: 'counters' }
  }
  if ((to.matched.some((r) => r.meta.supervisor) && !canReview()) || (to.matched.some((r) => r.meta.admin) && !isAdmin())) {
    session.notice = `您的角色无权打开“${title}”页面，已回到窗口状态。`
    return { name: 'counters' }
  }
  return true
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

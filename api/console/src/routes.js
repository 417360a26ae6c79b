/* The console's pages and who may open them: the route table (each page its own module, loaded when
 * first opened, with its own title) and the guard that router.js runs before every navigation. */
import { canReview, home, isAdmin, isDevice, isHandler, isStaff, loadMe, session } from './session.js'

const page = (name, title, load, meta = {}) => ({ name, component: load, meta: { title, ...meta } })
export const routes = [
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
  { path: '/sampling', ...page('sampling', '抽检', () => import('./views/SamplingView.vue'), { supervisor: true }) },
  { path: '/complaints', ...page('complaints', '投诉处理', () => import('./views/ComplaintsView.vue'), { supervisor: true }) },
  { path: '/rules', ...page('rules', '规则试验台', () => import('./views/RuleBench.vue'), { supervisor: true }) },
  { path: '/reports', ...page('reports', '月度报表', () => import('./views/ReportsView.vue'), { supervisor: true }) },
  { path: '/queue-counter', ...page('queue-counter', '窗口叫号', () => import('./views/QueueCounterView.vue'), { supervisor: true }) },
  { path: '/work-orders', ...page('work-orders', '工单督办', () => import('./views/WorkOrdersView.vue'), { handler: true }) },
  { path: '/ratings', ...page('ratings', '服务评价', () => import('./views/RatingsView.vue'), { supervisor: true }) },
  { path: '/kiosk', ...page('kiosk', '自助取号', () => import('./views/KioskView.vue'), { public: true, bare: true }) },
  { path: '/rater', ...page('rater', '服务评价器', () => import('./views/RaterView.vue'), { public: true, bare: true }) },
  { path: '/audit', ...page('audit', '审计日志', () => import('./views/AuditView.vue'), { admin: true }) },
  { path: '/devices', ...page('devices', '设备令牌', () => import('./views/DevicesView.vue'), { admin: true }) },
  {
    path: '/signage', component: () => import('./views/SignageView.vue'), meta: { title: '屏幕节目', supervisor: true },
    children: [
      { path: '', redirect: '/signage/screens' },
      { path: 'screens', ...page('sg-screens', '屏幕', () => import('./views/signage/ScreensView.vue')) },
      { path: 'content', ...page('sg-content', '素材库', () => import('./views/signage/ContentView.vue')) },
      { path: 'playlists', ...page('sg-playlists', '播放列表', () => import('./views/signage/PlaylistsView.vue')) },
      { path: 'layouts', ...page('sg-layouts', '版式', () => import('./views/signage/LayoutsView.vue')) },
      { path: 'schedules', ...page('sg-schedules', '排期', () => import('./views/signage/SchedulesView.vue')) },
      { path: 'interrupts', ...page('sg-interrupts', '紧急通知', () => import('./views/signage/InterruptsView.vue')) },
      { path: 'preview', ...page('sg-preview', '预览与播放记录', () => import('./views/signage/PreviewView.vue')) },
    ],
  },
  { path: '/:rest(.*)*', redirect: () => home() },
]

/** A path to return to after login: only one of this console's own pages. */
export function safeRedirect(path) {
  return typeof path === 'string' && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/login')
    ? path : home()
}

/** Where a navigation to `to` may go: true (there), or the page to go to instead (the login page,
 * a device's or a handler's own page, 窗口状态 for a page the role may not open, with a notice). */
export async function guard(to) {
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
  if (!session.me) return { name: 'login', query: to.fullPath === '/counters' ? {} : { redirect: to.fullPath } }
  const title = to.matched.map((r) => r.meta.title).filter(Boolean).pop()
  if (isHandler()) return to.name === 'work-orders' ? true : { name: 'work-orders' }
  // The counter staff have one page, their own; the other pages are not theirs (and the reverse).
  if (isStaff() !== to.matched.some((r) => r.meta.staff)) {
    if (isStaff()) return { name: 'mine' }
    session.notice = `您的角色无权打开“${title}”页面，已回到窗口状态。`
    return { name: 'counters' }
  }
  // a handler's page (工单督办) is a supervisor's too; a viewer's calls to it would all be refused
  const needs = (key) => to.matched.some((r) => r.meta[key])
  if (((needs('supervisor') || needs('handler')) && !canReview()) || (needs('admin') && !isAdmin())) {
    session.notice = `您的角色无权打开“${title}”页面，已回到窗口状态。`
    return { name: 'counters' }
  }
  return true
}

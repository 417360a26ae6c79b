// Which role may open which page of the console (src/routes.js: the guard router.js runs before
// every navigation), on the real route table resolved by vue-router.
import { createMemoryHistory, createRouter } from 'vue-router'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { guard, routes, safeRedirect } from '../src/routes.js'
import { session } from '../src/session.js'

const router = createRouter({ history: createMemoryHistory(), routes })
const go = (path) => guard(router.resolve(path))
const as = (role) => Object.assign(session, { me: role && { id: 1, name: 'u', role, sites: ['hq'] }, checked: true, notice: '' })

const STAFF_PAGES = ['/counters', '/recordings', '/interaction/7']
const SUPERVISOR_PAGES = ['/review', '/complaints', '/rules', '/reports', '/queue-counter', '/ratings', '/work-orders',
  '/signage/screens', '/signage/content', '/signage/playlists', '/signage/schedules', '/signage/interrupts',
  '/signage/preview']

afterEach(() => {
  vi.unstubAllGlobals()
  Object.assign(session, { me: null, checked: false, expired: false, notice: '' })
})

describe('nobody logged in', () => {
  beforeEach(() => as(null))

  it('sends every page to the login page, to come back to it afterwards', async () => {
    expect(await go('/counters')).toEqual({ name: 'login', query: {} })
    expect(await go('/recordings?counter=c1')).toEqual({ name: 'login', query: { redirect: '/recordings?counter=c1' } })
    expect(await go('/audit')).toEqual({ name: 'login', query: { redirect: '/audit' } })
  })

  it('opens the login page and the hall devices pages', async () => {
    expect(await go('/login')).toBe(true)
    expect(await go('/kiosk')).toBe(true)
    expect(await go('/rater')).toBe(true)
  })
})

describe('by role', () => {
  it('a viewer sees counters and recordings only, and is told why elsewhere', async () => {
    as('viewer')
    for (const p of STAFF_PAGES) expect(await go(p), p).toBe(true)
    for (const p of [...SUPERVISOR_PAGES, '/audit']) {
      session.notice = ''
      expect(await go(p), p).toEqual({ name: 'counters' })
      expect(session.notice, p).toMatch(/^您的角色无权打开“.+”页面/)
    }
    await go('/review')
    expect(session.notice).toContain('复核工作台')
    await go('/signage/playlists')
    expect(session.notice).toContain('播放列表')
  })

  it('a supervisor sees the supervisors pages but not the audit log', async () => {
    as('supervisor')
    for (const p of [...STAFF_PAGES, ...SUPERVISOR_PAGES]) expect(await go(p), p).toBe(true)
    expect(await go('/audit')).toEqual({ name: 'counters' })
    expect(session.notice).toContain('审计日志')
  })

  it('an admin sees every page', async () => {
    as('admin')
    for (const p of [...STAFF_PAGES, ...SUPERVISOR_PAGES, '/audit']) expect(await go(p), p).toBe(true)
    expect(session.notice).toBe('')
  })

  it('a department handler sees the work orders only', async () => {
    as('handler')
    expect(await go('/work-orders')).toBe(true)
    for (const p of [...STAFF_PAGES, ...SUPERVISOR_PAGES.filter((x) => x !== '/work-orders'), '/audit']) {
      expect(await go(p), p).toEqual({ name: 'work-orders' })
    }
  })

  it('a kiosk and a rating terminal stay on their own page', async () => {
    as('kiosk')
    expect(await go('/kiosk')).toBe(true)
    for (const p of ['/counters', '/recordings', '/audit', '/login']) expect(await go(p), p).toEqual({ name: 'kiosk' })
    as('rater')
    expect(await go('/rater')).toBe(true)
    for (const p of ['/counters', '/review', '/login']) expect(await go(p), p).toEqual({ name: 'rater' })
  })

  it('the work orders page is for handlers and supervisors, not viewers (their API calls are refused)', async () => {
    as('supervisor')
    expect(await go('/work-orders')).toBe(true)
    as('viewer')
    expect(await go('/work-orders')).toEqual({ name: 'counters' })
    expect(session.notice).toContain('工单督办')
  })
})

describe('the login page when logged in', () => {
  it('goes on to the page asked for, only one of the console own pages', async () => {
    as('supervisor')
    expect(await go('/login?redirect=/reports')).toBe('/reports')
    expect(await go('/login?redirect=//evil.example/x')).toBe('/counters')
    expect(await go('/login')).toBe('/counters')
  })

  it('safeRedirect refuses other sites, the login page and non-paths', () => {
    expect(safeRedirect('/recordings?q=1')).toBe('/recordings?q=1')
    for (const bad of ['https://evil.example/', '//evil.example', '/login?redirect=/audit', 'counters', 42, null]) {
      expect(safeRedirect(bad), String(bad)).toBe('/counters')
    }
  })
})

describe('the first navigation asks the server who is logged in', () => {
  const answer = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

  it('opens the page for the user the cookie belongs to, with the dictionary loaded', async () => {
    const asked = []
    vi.stubGlobal('fetch', async (url) => {
      asked.push(url)
      if (url === '/api/v1/auth/me') return answer(200, { id: 3, name: 'li', role: 'supervisor', sites: ['hq'] })
      if (url === '/api/v1/dictionary') return answer(200, { labels: {}, rules: [], score: null, rating_levels: [] })
      if (url === '/api/v1/sites') return answer(200, [])
      return answer(404, { detail: { code: 'not_found', message: '找不到' } })
    })
    expect(await go('/review')).toBe(true)
    expect(session.me.role).toBe('supervisor')
    expect(session.checked).toBe(true)
    expect(asked.sort()).toEqual(['/api/v1/auth/me', '/api/v1/dictionary', '/api/v1/sites'])
  })

  it('sends to the login page when the cookie is no good', async () => {
    vi.stubGlobal('fetch', async () => answer(401, { detail: { code: 'unauthenticated', message: '请先登录' } }))
    expect(await go('/reports')).toEqual({ name: 'login', query: { redirect: '/reports' } })
    expect(session.me).toBe(null)
    expect(session.checked).toBe(true)
  })

  it('sends to the login page when the server cannot be reached', async () => {
    vi.stubGlobal('fetch', async () => { throw new TypeError('fetch failed') })
    expect(await go('/counters')).toEqual({ name: 'login', query: {} })
    expect(session.me).toBe(null)
  })
})

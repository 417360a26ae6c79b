/* What the 屏幕节目 pages share: the site being managed, the lists loaded for it, the page's
 * error line, and which tab has finished loading (tests wait for `data-ready`). Values typed
 * into the preview form survive a change of tab. */
import { ElMessageBox } from 'element-plus'
import { reactive } from 'vue'
import { listContent } from '../../api/content.js'
import { listLayouts } from '../../api/layouts.js'
import { listPlaylists } from '../../api/playlists.js'
import { listSchedules } from '../../api/schedules.js'
import { listScreens } from '../../api/screens.js'
import { describeError } from '../../errors.js'
import { dict, label } from '../../dictionary.js'
import { session } from '../../session.js'

export const sg = reactive({
  user: null, site: null, sites: [], ready: null, error: '',
  screens: [], content: [], playlists: [], schedules: [], layouts: [],
  editing: null, // id of the playlist in the form
  preview: { screen: '', at: '', now: false, range: 86400 },
})

const loaders = {
  screens: async () => (await listScreens()).filter((s) => s.site === sg.site),
  content: () => listContent(sg.site),
  playlists: () => listPlaylists(sg.site),
  schedules: () => listSchedules(sg.site),
  layouts: () => listLayouts(sg.site),
}

/** Load the named lists of the current site into `sg`. */
export async function load(...what) {
  const got = await Promise.all(what.map((w) => loaders[w]()))
  what.forEach((w, i) => { sg[w] = got[i] })
}

/** The sites this user manages (theirs, or for an admin those that have counters). */
export async function fillSites() {
  if (sg.user !== session.me.name) { // another login in the same tab: forget what the last user saw
    Object.assign(sg, { user: session.me.name, site: null, sites: [], editing: null,
                        preview: { screen: '', at: '', now: false, range: 86400 } })
  }
  if (!sg.sites.length) sg.sites = dict.sites.map((s) => s.name)
  if (!sg.sites.includes(sg.site)) sg.site = sg.sites[0] || null
}

/** Run a tab's loading: the error line shows what failed; `data-ready` marks the end. */
export async function runTab(tab, fn) {
  sg.ready = null
  sg.error = ''
  try {
    await fillSites()
    if (sg.site) await fn()
    else sg.error = '没有可管理的服务点。'
  } catch (e) {
    if (e.status !== 401) sg.error = `加载失败：${describeError(e)}`
  } finally {
    sg.ready = tab
  }
}

/** Ask before deleting; false when the user says no. */
export async function confirmDelete(what) {
  try {
    await ElMessageBox.confirm(`删除${what}？此操作不能撤销。`, '确认删除', {
      type: 'warning', confirmButtonText: '删除', cancelButtonText: '取消', confirmButtonClass: 'el-button--danger',
    })
    return true
  } catch (e) {
    return false
  }
}

export const contentName = (id) => { const c = sg.content.find((x) => x.id === id); return c ? c.name : `#${id}` }
export const playlistName = (id) => { const p = sg.playlists.find((x) => x.id === id); return p ? p.name : `#${id}` }
export const layoutName = (id) => {
  if (!id) return '全屏（默认）'
  const l = sg.layouts.find((x) => x.id === id)
  return l ? l.name : `#${id}`
}
export const contentLabel = (c) => `${c.name}（${label('content_kind', c.kind)}）`
export { describeError }

/* Failed API calls and the Chinese sentences shown for them. The API's own words (English)
 * are shown only after a Chinese sentence, as a detail. */
import { ERROR_CODE, FIELD, HTTP_STATUS } from './labels.js'

export class ApiError extends Error {
  /** status: HTTP status (0: no answer); detail: the API's `detail` (a string, FastAPI's list
   * of field errors, or an object such as a schedule refusal's {code, reason, schedule_ids});
   * retryAfter: seconds from a 429's Retry-After (null: none). */
  constructor(status, detail, retryAfter = null) {
    super(`HTTP ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.detail = detail
    this.retryAfter = retryAfter
  }
}

function fieldErrors(list) {
  return list.map((x) => {
    const loc = (x.loc || []).filter((p) => p !== 'body' && p !== 'query' && typeof p === 'string')
    const name = loc.length ? FIELD[loc[loc.length - 1]] || loc[loc.length - 1] : ''
    return name ? `${name}（${x.msg || ''}）` : x.msg || ''
  }).join('；')
}

/** The Chinese text for a failed call: a sentence for the status or the API's code, the
 * records it names, then the API's own reason. */
export function describeError(e) {
  if (!(e instanceof ApiError)) return `页面出错：${e && e.message ? e.message : String(e)}`
  const d = e.detail
  const base = HTTP_STATUS[e.status] || `请求失败（HTTP ${e.status}）`
  if (d && typeof d === 'object' && !Array.isArray(d)) {
    const refs = []
    const schedules = (d.schedule_ids || []).filter((i) => i !== 0) // 0: the schedule being added
    if (schedules.length) refs.push('排期 ' + schedules.map((i) => `#${i}`).join('、'))
    if ((d.playlist_ids || []).length) refs.push('播放列表 ' + d.playlist_ids.map((i) => `#${i}`).join('、'))
    const what = ERROR_CODE[d.code] || base
    return `${what}${refs.length ? `（涉及${refs.join('，')}）` : ''}${d.reason ? `：${d.reason}` : ''}`
  }
  if (Array.isArray(d) && d.length) return `${base}：${fieldErrors(d)}`
  if (typeof d === 'string' && d) return `${base}（服务器说明：${d}）`
  return base
}

/* Failed API calls and the Chinese sentences shown for them. Every error the API sends carries a
 * machine-readable `code` and a Chinese `message` (FastAPI's field errors: one `message` per field);
 * the console shows those, never the API's English. */

export class ApiError extends Error {
  /** status: HTTP status (0: no answer); detail: the API's `detail` (a domain error's
   * {code, message, ...}, or a list of field errors each with its `message`);
   * retryAfter: seconds from a 429's Retry-After (null: none). */
  constructor(status, detail, retryAfter = null) {
    super(`HTTP ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.detail = detail
    this.retryAfter = retryAfter
  }

  get code() {
    return this.detail && !Array.isArray(this.detail) && typeof this.detail === 'object' ? this.detail.code : undefined
  }
}

/** A sentence per HTTP status, for answers without a message (a proxy's, a dropped connection). */
const HTTP_STATUS = {
  0: '无法连接服务器，请检查网络后重试',
  401: '会话已过期，请重新登录',
  403: '没有权限执行此操作',
  404: '找不到所请求的记录',
  413: '文件或数据过大',
  422: '输入的内容不符合要求',
  429: '请求过于频繁，请稍后再试',
  500: '服务器内部错误，请联系管理员',
  502: '服务器暂时无法处理，请稍后再试',
  503: '服务暂时不可用，请稍后再试',
  504: '服务器响应超时，请稍后再试',
}

/** The Chinese text for a failed call. */
export function describeError(e) {
  if (!(e instanceof ApiError)) return `页面出错，请刷新后重试（${e && e.name ? e.name : '未知错误'}）`
  const d = e.detail
  if (Array.isArray(d) && d.length) {
    return `${HTTP_STATUS[422]}：${d.map((x) => x.message || '取值无效').join('；')}`
  }
  if (d && typeof d === 'object' && d.message) {
    // the records an error names (a playlist still played by schedules ...), unless it names them itself
    const refs = []
    const schedules = (d.schedule_ids || []).filter((i) => i !== 0 && !d.message.includes(`#${i}`))
    if (schedules.length) refs.push('排期 ' + schedules.map((i) => `#${i}`).join('、'))
    if ((d.playlist_ids || []).length) refs.push('播放列表 ' + d.playlist_ids.map((i) => `#${i}`).join('、'))
    return `${d.message}${refs.length ? `（涉及${refs.join('，')}）` : ''}`
  }
  return HTTP_STATUS[e.status] || `请求失败（HTTP ${e.status}）`
}

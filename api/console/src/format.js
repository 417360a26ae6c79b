/* Numbers and times as the console shows them. Times are the site's local time (a site's zone from
 * the dictionary; the first visible site's zone where no site is named), whatever the browser's. */
import { dict, siteOf } from './dictionary.js'

const FALLBACK_ZONE = 'Asia/Shanghai'
export const zoneOf = (site) => { const s = (site && siteOf(site)) || dict.sites[0]; return s ? s.timezone : FALLBACK_ZONE }

const formatters = new Map()
function parts(ms, tz) {
  if (!formatters.has(tz)) {
    formatters.set(tz, new Intl.DateTimeFormat('en-CA', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit',
                                                          day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }))
  }
  const o = {}
  for (const p of formatters.get(tz).formatToParts(new Date(ms))) o[p.type] = p.value
  return o
}

/** Unix seconds as "YYYY-MM-DD HH:MM:SS" in the zone `tz`. */
export function epochToWall(s, tz = zoneOf()) {
  const p = parts(s * 1000, tz)
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`
}
/** "YYYY-MM-DD[ HH:MM[:SS]]" read in the zone `tz`, as unix seconds. */
export function wallToEpoch(text, tz = zoneOf()) {
  const [d, t = '00:00:00'] = String(text).trim().split(/[ T]/)
  const [Y, M, D] = d.split('-').map(Number)
  const [h, m, s = 0] = t.split(':').map(Number)
  const want = Date.UTC(Y, M - 1, D, h, m, s)
  let guess = want
  for (let i = 0; i < 3; i++) { // the zone's offset at the guess, applied until it holds (DST edges)
    const p = parts(guess, tz)
    const seen = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second)
    guess -= seen - want
  }
  return Math.round(guess / 1000)
}
/** Today's date in the zone, "YYYY-MM-DD". */
export const todayIn = (tz = zoneOf()) => epochToWall(Date.now() / 1000, tz).slice(0, 10)
export const addDays = (date, n) => new Date(Date.UTC(...date.split('-').map((x, i) => (i === 1 ? x - 1 : +x))) + n * 86400000)
  .toISOString().slice(0, 10)

/** How a zone is named to people: never its IANA id (Asia/Shanghai), which stays in tooltips. */
const BEIJING = new Set(['Asia/Shanghai', 'Asia/Chongqing', 'Asia/Harbin', 'Asia/Urumqi', 'Asia/Hong_Kong', 'Asia/Macau', 'Asia/Taipei', 'PRC'])
export const zoneLabel = (tz) => (BEIJING.has(tz) ? '北京时间' : '服务点当地时间')

export const fmtTime = (s, tz) => (s === null || s === undefined ? '—' : epochToWall(s, tz || zoneOf()))
export const fmtOffset = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`
export const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`)
export const points = (x) => (x === null || x === undefined ? '—' : `${Number(x).toFixed(1)} 分`)
export const secs = (s) => String(+Number(s).toFixed(2))
export const size = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`)
/** A site-local ISO time from the API, as "YYYY-MM-DD HH:MM:SS". */
export const clock = (iso) => (iso ? String(iso).slice(0, 19).replace('T', ' ') : '')
/** "08:00:00" -> "08:00". */
export const hm = (t) => (/^\d\d:\d\d:00$/.test(t || '') ? t.slice(0, 5) : t)
/** "a, b，c d" -> ["a", "b", "c", "d"]. */
export const splitList = (v) => String(v || '').split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean)

/** A text with its [start, end) spans marked, as pieces for <mark>. */
export function pieces(text, ranges) {
  const out = []
  let at = 0
  for (const [a, b] of ranges || []) {
    if (a > at) out.push({ text: text.slice(at, a), hit: false })
    out.push({ text: text.slice(a, b), hit: true })
    at = b
  }
  out.push({ text: text.slice(at), hit: false })
  return out
}

/** Element Plus's range pickers label only their first box: name both (called after mounting). */
export function labelRange(id, start = '开始时间', end = '结束时间') {
  const a = document.getElementById(id)
  const b = document.getElementById(`${id}-end`)
  if (a) a.setAttribute('aria-label', start)
  if (b) b.setAttribute('aria-label', end)
}

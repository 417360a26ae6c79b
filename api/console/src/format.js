/* Numbers and times as the console shows them. */
export const fmtTime = (s) => (s === null || s === undefined ? '—'
  : new Date(s * 1000).toLocaleString('zh-CN', { hour12: false }))
export const fmtOffset = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`
export const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`)
export const secs = (s) => String(+Number(s).toFixed(2))
export const size = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`)
/** A site-local ISO time from the API, as "YYYY-MM-DD HH:MM:SS". */
export const clock = (iso) => (iso ? String(iso).slice(0, 19).replace('T', ' ') : '')
/** "08:00:00" -> "08:00". */
export const hm = (t) => (/^\d\d:\d\d:00$/.test(t || '') ? t.slice(0, 5) : t)
/** "a, b，c d" -> ["a", "b", "c", "d"]. */
export const splitList = (v) => String(v || '').split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean)

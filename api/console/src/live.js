/* The live listen of one counter, kept outside every page (App.vue's dock plays it), so that
 * navigation does not stop it; kept in the tab's sessionStorage too, so that a reload (F5)
 * resumes it (the browser then asks for a click if it refuses to play without one). */
import { reactive, watch } from 'vue'

const KEY = 'counterwatch.live'

function restored() {
  try {
    const c = JSON.parse(window.sessionStorage.getItem(KEY) || 'null')
    return c && Number.isInteger(c.id) && typeof c.label === 'string' ? c : null
  } catch (e) {
    return null
  }
}

export const live = reactive({
  counter: restored(), // {id, site, label} being listened to
  startedMs: 0,
})

watch(() => live.counter, (c) => {
  try {
    if (c) window.sessionStorage.setItem(KEY, JSON.stringify({ id: c.id, site: c.site, label: c.label }))
    else window.sessionStorage.removeItem(KEY)
  } catch (e) {
    // storage refused (private mode): listening still works until the page is reloaded
  }
})

export function listen(c) {
  live.counter = { id: c.id, site: c.site, label: `${c.site_label} · ${c.label}` }
  live.startedMs = Date.now()
}

export function stopListening() {
  live.counter = null
}

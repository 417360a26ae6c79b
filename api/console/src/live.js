/* The live listen of one counter, kept outside every page (App.vue's dock plays it), so that
 * page refreshes and navigation do not stop it. */
import { reactive } from 'vue'

export const live = reactive({
  counter: null, // {id, site, label} being listened to
  startedMs: 0,
})

export function listen(c) {
  live.counter = { id: c.id, site: c.site, label: `${c.site_label} · ${c.label}` }
  live.startedMs = Date.now()
}

export function stopListening() {
  live.counter = null
}

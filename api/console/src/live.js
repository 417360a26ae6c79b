/* The live listen of one counter, kept outside every page (App.vue's dock plays it), so that
 * navigation does not stop it; its counter rides along in the page's address (`?live=<id>`,
 * router.js), so that a reload (F5) or a copied address resumes it. No web storage is used. */
import { reactive } from 'vue'

export const live = reactive({
  counter: null, // {id, site, label} being listened to
  startedMs: 0,
})

export function listen(c) {
  live.counter = { id: c.id, site: c.site, label: `${c.site_label} · ${c.label}` }
  live.startedMs = Date.now()
}

/** Resume listening to counter `id` from the address (its names come with the first poll). */
export function resume(id) {
  live.counter = { id, site: '', label: `窗口 #${id}` }
  live.startedMs = Date.now()
}

export function stopListening() {
  live.counter = null
}

/* Complaint drafts: typed text is saved as the author's draft on the server a moment after each
 * change (GET/PUT /complaints/drafts/<form>: personal data stays off the shared PC's browser
 * storage), and kept in this module's memory meanwhile, so a session that expires mid-sentence
 * loses nothing: after logging back in the page finds the text here and saves it again. */
import { reactive } from 'vue'
import { deleteDraft, getDraft, saveDraft } from './api/complaints.js'

const SAVE_AFTER_MS = 800
export const memory = reactive({}) // form -> {data, saved}
const timers = {}

/** The draft of `form`: this page's memory first (unsaved text), else the server's. */
export async function restore(form) {
  if (memory[form]) return memory[form].data
  const d = await getDraft(form)
  return d ? d.data : null
}

/** Keep `data` as the draft of `form`, saved soon. */
export function keep(form, data) {
  memory[form] = { data: JSON.parse(JSON.stringify(data)), saved: false }
  clearTimeout(timers[form])
  timers[form] = setTimeout(() => flush(form), SAVE_AFTER_MS)
}

/** Save the draft now; on failure (an expired session) it stays in memory for the next try. */
export async function flush(form) {
  const m = memory[form]
  if (!m || m.saved) return
  try {
    await saveDraft(form, m.data)
    if (memory[form] === m) m.saved = true
  } catch (e) {
    // kept in memory: saved again once the author is back
  }
}

export async function drop(form) {
  clearTimeout(timers[form])
  delete memory[form]
  try {
    await deleteDraft(form)
  } catch (e) {
    // the server drops it when the complaint is filed anyway
  }
}

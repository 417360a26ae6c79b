/* 屏幕节目: the waiting-area screens in the console (issue 5): screens, the content library,
 * playlists, schedules, emergency notices, and a preview of what a screen shows at a given time
 * with its proof of play. Uses api(), el(), $, me and canReview() from app.js; every text from the
 * API goes into the page as text, never as HTML. Admins and supervisors only. */
"use strict";

const SG_TABS = ["screens", "content", "playlists", "schedules", "interrupts", "preview"];
const SG_KIND = { video: "视频", image: "图片", text: "文字公告" };
const SG_SHOWS = { playlist: "排期节目", interrupt: "紧急通知", default: "默认画面" };
const SG_WEEKDAYS = ["一", "二", "三", "四", "五", "六", "日"];      // 0 = Monday, as the API
const SG_CODES = { conflict: "时间冲突", bad_range: "时间或日期范围无效", unknown_playlist: "播放列表不存在",
                   unknown_content: "素材不存在", empty_playlist: "播放列表为空", bad_item: "播放时长无效",
                   no_target: "未选择屏幕或分组", bad_weekdays: "星期无效", in_use: "仍在使用中",
                   name_taken: "名称已被使用" };
const SG_ONLINE_S = 60;     // players send a heartbeat every 10 s
const SG = { user: null, site: null, sites: [], tab: "screens", screens: [], content: [], playlists: [], schedules: [],
             editing: null };

/** Readable text for a failed call: a schedule or playlist refusal names its reason. */
function sgReason(e) {
  const d = e.detail;
  if (d && typeof d === "object" && !Array.isArray(d) && typeof d.reason === "string") {
    // schedule_ids: 0 stands for the schedule being added; playlist_ids: playlists using content
    const refs = [];
    const scheds = (d.schedule_ids || []).filter((i) => i !== 0);
    if (scheds.length) refs.push("排期 " + scheds.map((i) => "#" + i).join("、"));
    if ((d.playlist_ids || []).length) refs.push("播放列表 " + d.playlist_ids.map((i) => "#" + i).join("、"));
    return `${SG_CODES[d.code] || d.code || ""}${refs.length ? `（涉及${refs.join("，")}）` : ""}：${d.reason}`;
  }
  if (e.status === 413) return "文件过大：" + e.message;
  if (e.status === 415) return "不支持的文件格式：" + e.message;
  if (e.status === 403) return "没有权限：" + e.message;
  return e.message;
}

const sgSecs = (s) => String(+s.toFixed(2));
const sgSize = (n) => (n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB");
const sgClock = (iso) => (iso ? iso.slice(0, 19).replace("T", " ") : "");   // site-local, as the API gives it
const sgHm = (t) => (/^\d\d:\d\d:00$/.test(t || "") ? t.slice(0, 5) : t);        // 08:00:00 -> 08:00
const sgList = (v) => String(v || "").split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
const sgContentName = (id) => { const c = SG.content.find((x) => x.id === id); return c ? c.name : `#${id}`; };
const sgPlaylistName = (id) => { const p = SG.playlists.find((x) => x.id === id); return p ? p.name : `#${id}`; };

async function sgLoad(...what) {
  const site = SG.site;
  const loaders = {
    screens: async () => (await api("/signage/screens")).filter((s) => s.site === site),
    content: () => api("/signage/content", { params: { site } }),
    playlists: () => api("/signage/playlists", { params: { site } }),
    schedules: () => api("/signage/schedules", { params: { site } }),
  };
  const got = await Promise.all(what.map((w) => loaders[w]()));
  what.forEach((w, i) => { SG[w] = got[i]; });
}

async function sgFillSites() {
  if (SG.user !== me.name) {     // another login in the same tab: forget what the last user saw
    Object.assign(SG, { user: me.name, site: null, sites: [], editing: null });
  }
  if (!SG.sites.length) {
    SG.sites = me.sites.length ? [...me.sites]
      : [...new Set((await api("/counters")).map((c) => c.site))].sort();
  }
  if (!SG.sites.includes(SG.site)) SG.site = SG.sites[0] || null;
  const sel = $("#sg-site");
  sel.replaceChildren(...SG.sites.map((s) => el("option", { value: s }, s)));
  if (SG.site) sel.value = SG.site;
}

async function pageSignage(params, [tab] = []) {
  if (!canReview()) { location.hash = "#/counters"; return; }
  showPage("signage");
  SG.tab = SG_TABS.includes(tab) ? tab : "screens";
  document.querySelectorAll("#sg-tabs a").forEach((a) => a.classList.toggle("active", a.dataset.tab === SG.tab));
  document.querySelectorAll(".sg-tab").forEach((d) => { d.hidden = d.id !== "sg-tab-" + SG.tab; });
  $("#sg-error").textContent = "";
  const page = $("#page-signage");
  delete page.dataset.ready;       // set again once the tab shows fresh data (tests wait for it)
  try {
    await sgFillSites();
    if (SG.site) await SG_PAGES[SG.tab]();
    else $("#sg-error").textContent = "没有可管理的服务点。";
  } catch (e) {
    $("#sg-error").textContent = "加载失败：" + sgReason(e);
  }
  page.dataset.ready = SG.tab;
}

const sgReload = () => pageSignage(null, [SG.tab]);
$("#sg-site").addEventListener("change", (ev) => {
  SG.site = ev.target.value;
  SG.editing = null;
  sgReload();
});

function sgChecks(box, name, options, checked) {
  // options: [value, label]; keeps the legend, replaces the boxes
  const legend = box.querySelector("legend");
  box.replaceChildren(legend, ...options.map(([value, label]) => el("label", { class: "inline" },
    el("input", { type: "checkbox", name, value, checked: checked(value) }), label)));
  if (!options.length) box.append(el("span", { class: "hint" }, "（无）"));
}
const sgChecked = (box) => [...box.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);

/* ---- screens ---------------------------------------------------------------------------- */

async function sgScreens() {
  await sgLoad("screens");
  const now = Date.now() / 1000;
  const rows = SG.screens.map((s) => {
    const st = s.status || {};
    const online = s.last_heartbeat_s && now - s.last_heartbeat_s < SG_ONLINE_S;
    const state = !s.last_heartbeat_s ? el("span", { class: "badge grey" }, "未连接")
      : online ? el("span", { class: "badge ok" }, "在线") : el("span", { class: "badge bad" }, "离线");
    const offline = (st.offline_periods || []).length;
    const errors = st.errors || [];
    return el("tr", { dataset: { screen: s.name } },
      el("td", {}, s.name), el("td", {}, (s.groups || []).map((g) => el("span", { class: "badge" }, g))),
      el("td", {}, state), el("td", {}, s.last_heartbeat_s ? fmtTime(s.last_heartbeat_s) : "—"),
      el("td", {}, st.playing || "—"), el("td", { class: "num" }, st.cache_items ?? "—"),
      el("td", {}, offline ? el("div", {}, `离线 ${offline} 次，最近：${fmtTime(st.offline_periods[offline - 1][0])}` +
                                          ` 至 ${fmtTime(st.offline_periods[offline - 1][1])}`) : null,
        errors.map((x) => el("div", { class: "error" }, x)), !offline && !errors.length ? "—" : null));
  });
  $("#sg-screen-rows").replaceChildren(...rows);
  if (!rows.length) $("#sg-screen-rows").append(el("tr", {}, el("td", { colspan: 7 }, "本服务点尚无屏幕。")));
}

$("#sg-screen-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  $("#sg-screen-error").textContent = "";
  $("#sg-screen-token").hidden = true;
  try {
    const s = await api("/signage/screens", { method: "POST", body: { site: SG.site, name: form.elements.name.value.trim(),
                                                                     groups: sgList(form.elements.groups.value) } });
    form.reset();
    $("#sg-screen-token").replaceChildren(`屏幕 ${s.name} 的令牌（只显示这一次，请立即配置到播放端）：`,
                                          el("code", {}, s.token || ""));
    $("#sg-screen-token").hidden = false;
    await sgScreens();
  } catch (e) { $("#sg-screen-error").textContent = "登记失败：" + sgReason(e); }
});

/* ---- content library -------------------------------------------------------------------- */

async function sgContent() {
  await sgLoad("content");
  const rows = SG.content.map((c) => {
    const tr = el("tr", { dataset: { content: c.id } });
    const what = c.kind === "text"
      ? el("div", {}, el("strong", {}, c.title), el("div", { class: "hint clip" }, c.body))
      : el("div", {}, c.kind === "image" ? el("img", { class: "thumb", alt: c.name, loading: "lazy",
                                                       src: `${API}/signage/content/${c.id}` }) : null,
        el("div", { class: "hint" }, `${c.content_type} · ${sgSize(c.size_bytes)}`));
    const actions = el("div", { class: "review-actions" });
    if (c.kind === "text") actions.append(el("button", { type: "button", class: "secondary edit", onclick: () => sgEditText(tr, c) }, "编辑"));
    actions.append(el("button", { type: "button", class: "bad delete", onclick: async () => {
      if (!confirm(`删除素材“${c.name}”？`)) return;
      $("#sg-error").textContent = "";
      try {
        await api(`/signage/content/${c.id}`, { method: "DELETE" });
        await sgContent();
      } catch (e) { $("#sg-error").textContent = `删除素材“${c.name}”失败：${sgReason(e)}`; }
    } }, "删除"));
    tr.append(el("td", {}, c.id), el("td", {}, SG_KIND[c.kind] || c.kind), el("td", { class: "name" }, c.name),
              el("td", { class: "what" }, what), el("td", {}, actions));
    return tr;
  });
  $("#sg-content-rows").replaceChildren(...rows);
  if (!rows.length) $("#sg-content-rows").append(el("tr", {}, el("td", { colspan: 5 }, "素材库为空。")));
}

function sgEditText(tr, c) {
  const title = el("input", { name: "title", value: c.title, maxlength: 200, required: true });
  const body = el("textarea", { name: "body", rows: 4, maxlength: 20000 });
  body.value = c.body;
  const err = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "inline-edit", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api(`/signage/content/${c.id}`, { method: "PATCH", body: { title: title.value, body: body.value } });
      await sgContent();
    } catch (e) { err.textContent = "保存失败：" + sgReason(e); }
  } }, el("label", {}, "标题", title), el("label", {}, "正文", body),
  el("div", { class: "row" }, el("button", { type: "submit" }, "保存"),
    el("button", { type: "button", class: "secondary", onclick: () => sgContent() }, "取消")), err);
  tr.querySelector("td.what").replaceChildren(form);
}

$("#sg-upload-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const file = form.elements.file.files[0];
  $("#sg-upload-error").textContent = "";
  if (!file) return;
  const name = form.elements.name.value.trim() || file.name;
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    await api("/signage/content", { method: "POST", params: { site: SG.site, name }, raw: file });
    form.reset();
    await sgContent();
  } catch (e) {
    $("#sg-upload-error").textContent = "上传失败：" + sgReason(e);
  } finally { button.disabled = false; }
});

$("#sg-text-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  $("#sg-text-error").textContent = "";
  try {
    await api("/signage/content/text", { method: "POST", body: { site: SG.site, name: f.name.value.trim(),
                                                                 title: f.title.value, body: f.body.value } });
    ev.target.reset();
    await sgContent();
  } catch (e) { $("#sg-text-error").textContent = "保存失败：" + sgReason(e); }
});

/* ---- playlists -------------------------------------------------------------------------- */

async function sgPlaylists() {
  await sgLoad("content", "playlists");
  if (SG.editing && !SG.playlists.some((p) => p.id === SG.editing)) SG.editing = null;
  sgPlaylistForm(SG.playlists.find((p) => p.id === SG.editing));
  const rows = SG.playlists.map((p) => {
    const total = p.items.reduce((s, i) => s + i.duration_s, 0);
    return el("tr", { dataset: { playlist: p.id }, class: p.id === SG.editing ? "editing" : "" },
      el("td", {}, p.id), el("td", { class: "name" }, p.name),
      el("td", {}, el("ol", { class: "items" }, p.items.map((i) => el("li", {}, `${sgContentName(i.content_id)} · ${sgSecs(i.duration_s)} 秒`)))),
      el("td", { class: "num" }, `${sgSecs(total)} 秒`),
      el("td", {}, el("div", { class: "review-actions" },
        el("button", { type: "button", class: "secondary edit", onclick: () => { SG.editing = p.id; sgPlaylists(); } }, "编辑"),
        el("button", { type: "button", class: "bad delete", onclick: async () => {
          if (!confirm(`删除播放列表“${p.name}”？`)) return;
          $("#sg-error").textContent = "";
          try {
            await api(`/signage/playlists/${p.id}`, { method: "DELETE" });
            if (SG.editing === p.id) SG.editing = null;
            await sgPlaylists();
          } catch (e) { $("#sg-error").textContent = `删除播放列表“${p.name}”失败：${sgReason(e)}`; }
        } }, "删除"))));
  });
  $("#sg-playlist-rows").replaceChildren(...rows);
  if (!rows.length) $("#sg-playlist-rows").append(el("tr", {}, el("td", { colspan: 5 }, "尚无播放列表。")));
}

function sgPlaylistForm(p) {
  const form = $("#sg-playlist-form");
  $("#sg-playlist-title").textContent = p ? `编辑播放列表 #${p.id}` : "新建播放列表";
  $("#sg-playlist-cancel").hidden = !p;
  $("#sg-playlist-error").textContent = "";
  form.elements.name.value = p ? p.name : "";
  $("#sg-playlist-items").replaceChildren(...(p ? p.items : []).map(sgItemRow));
  sgRenumber();
}

function sgItemRow(item) {
  const sel = el("select", { class: "pl-content", required: true },
    SG.content.map((c) => el("option", { value: c.id }, `${c.name}（${SG_KIND[c.kind] || c.kind}）`)));
  if (item) sel.value = String(item.content_id);
  const dur = el("input", { type: "number", class: "pl-duration", min: 1, max: 86400, step: "any", required: true,
                            value: item ? item.duration_s : 10 });
  const tr = el("tr", { class: "pl-item" });
  const move = (d) => () => {
    const other = d < 0 ? tr.previousElementSibling : tr.nextElementSibling;
    if (other) (d < 0 ? other.before(tr) : other.after(tr));
    sgRenumber();
  };
  tr.append(el("td", { class: "pl-n" }), el("td", {}, sel), el("td", {}, dur),
    el("td", {}, el("div", { class: "review-actions" },
      el("button", { type: "button", class: "secondary up", title: "上移", onclick: move(-1) }, "上移"),
      el("button", { type: "button", class: "secondary down", title: "下移", onclick: move(1) }, "下移"),
      el("button", { type: "button", class: "secondary remove", onclick: () => { tr.remove(); sgRenumber(); } }, "移除"))));
  return tr;
}

function sgRenumber() {
  const rows = [...document.querySelectorAll("#sg-playlist-items tr.pl-item")];
  rows.forEach((tr, i) => { tr.querySelector(".pl-n").textContent = i + 1; });
  document.querySelectorAll("#sg-playlist-items tr.empty").forEach((tr) => tr.remove());
  if (!rows.length) {
    $("#sg-playlist-items").append(el("tr", { class: "empty" }, el("td", { colspan: 4, class: "hint" },
      SG.content.length ? "点击“添加一项”选择素材。" : "素材库为空，请先上传素材或新建文字公告。")));
  }
}

$("#sg-playlist-add").addEventListener("click", () => {
  if (!SG.content.length) { $("#sg-playlist-error").textContent = "素材库为空，请先上传素材或新建文字公告。"; return; }
  $("#sg-playlist-items").append(sgItemRow(null));
  sgRenumber();
});
$("#sg-playlist-cancel").addEventListener("click", () => { SG.editing = null; sgPlaylists(); });
$("#sg-playlist-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const items = [...document.querySelectorAll("#sg-playlist-items tr.pl-item")].map((tr) => ({
    content_id: parseInt(tr.querySelector(".pl-content").value, 10),
    duration_s: parseFloat(tr.querySelector(".pl-duration").value) }));
  const body = { site: SG.site, name: ev.target.elements.name.value.trim(), items };
  $("#sg-playlist-error").textContent = "";
  try {
    if (SG.editing) await api(`/signage/playlists/${SG.editing}`, { method: "PUT", body });
    else await api("/signage/playlists", { method: "POST", body });
    SG.editing = null;
    await sgPlaylists();
  } catch (e) { $("#sg-playlist-error").textContent = "保存失败：" + sgReason(e); }
});

/* ---- schedules -------------------------------------------------------------------------- */

async function sgSchedules(conflicts = []) {
  await sgLoad("screens", "playlists", "schedules");
  const form = $("#sg-schedule-form");
  const pl = form.elements.playlist_id;
  const keep = pl.value;
  pl.replaceChildren(...SG.playlists.map((p) => el("option", { value: p.id }, `${p.name}（#${p.id}）`)));
  if (keep && SG.playlists.some((p) => String(p.id) === keep)) pl.value = keep;
  const box = $("#sg-schedule-weekdays");
  const days = box.querySelector("input") ? sgChecked(box) : ["0", "1", "2", "3", "4", "5", "6"];
  sgChecks(box, "weekday", SG_WEEKDAYS.map((d, i) => [String(i), "星期" + d]), (v) => days.includes(v));
  const scr = $("#sg-schedule-screens");
  const picked = sgChecked(scr);
  sgChecks(scr, "screen", SG.screens.map((s) => [s.name, s.name + ((s.groups || []).length ? `（${s.groups.join("、")}）` : "")]),
           (v) => picked.includes(v));
  const groups = [...new Set(SG.screens.flatMap((s) => s.groups || []))].sort();
  $("#sg-groups").replaceChildren(...groups.map((g) => el("option", { value: g })));
  const rows = SG.schedules.map((s) => el("tr", { dataset: { schedule: s.id }, class: conflicts.includes(s.id) ? "conflict" : "" },
    el("td", {}, s.id), el("td", {}, sgPlaylistName(s.playlist_id)),
    el("td", {}, s.screens.map((x) => el("span", { class: "badge" }, x)), s.groups.map((g) => el("span", { class: "badge grey" }, "分组 " + g))),
    el("td", {}, s.weekdays.length === 7 ? "每天" : s.weekdays.map((d) => SG_WEEKDAYS[d]).join("、")),
    el("td", {}, `${sgHm(s.start_time)}–${sgHm(s.end_time)}`),
    el("td", {}, !s.start_date && !s.end_date ? "不限" : `${s.start_date || "…"} 至 ${s.end_date || "…"}`),
    el("td", { class: "num" }, s.priority),
    el("td", {}, el("button", { type: "button", class: "bad delete", onclick: async () => {
      if (!confirm(`删除排期 #${s.id}？`)) return;
      try {
        await api(`/signage/schedules/${s.id}`, { method: "DELETE" });
        await sgSchedules();
      } catch (e) { $("#sg-error").textContent = `删除排期 #${s.id} 失败：${sgReason(e)}`; }
    } }, "删除"))));
  $("#sg-schedule-rows").replaceChildren(...rows);
  if (!rows.length) $("#sg-schedule-rows").append(el("tr", {}, el("td", { colspan: 8 }, "尚无排期。")));
}

$("#sg-schedule-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const body = { site: SG.site, playlist_id: parseInt(f.playlist_id.value, 10), screens: sgChecked($("#sg-schedule-screens")),
                 groups: sgList(f.groups.value), weekdays: sgChecked($("#sg-schedule-weekdays")).map(Number),
                 start_time: f.start_time.value.trim(), end_time: f.end_time.value.trim(),
                 start_date: f.start_date.value || null, end_date: f.end_date.value || null,
                 priority: parseInt(f.priority.value || "0", 10) };
  $("#sg-schedule-error").textContent = "";
  if (!f.playlist_id.value) { $("#sg-schedule-error").textContent = "请先新建播放列表。"; return; }
  try {
    await api("/signage/schedules", { method: "POST", body });
    await sgSchedules();
  } catch (e) {
    $("#sg-schedule-error").textContent = "排期被拒绝 — " + sgReason(e);
    const ids = (e.detail && Array.isArray(e.detail.schedule_ids)) ? e.detail.schedule_ids : [];
    await sgSchedules(ids.filter((i) => i !== 0)).catch(() => {});
  }
});

/* ---- emergency notices ------------------------------------------------------------------ */

async function sgInterrupts() {
  await sgLoad("screens");
  const scr = $("#sg-interrupt-screens");
  const picked = sgChecked(scr);
  sgChecks(scr, "screen", SG.screens.map((s) => [s.name, s.name]), (v) => picked.includes(v));
  const open = await api(`/signage/interrupts?site=${encodeURIComponent(SG.site)}`);
  $("#sg-interrupt-list").replaceChildren(...open.map((i) => el("li", { class: "overdue", dataset: { interrupt: i.id } },
    el("div", {}, el("span", { class: "badge bad" }, "生效中"), ` 发布于 ${fmtTime(i.started_s)} · `,
      (i.screens || []).length ? "屏幕：" + i.screens.join("、") : "本服务点全部屏幕"),
    el("h3", {}, i.title), i.body ? el("p", { class: "pre" }, i.body) : null,
    el("button", { type: "button", class: "clear", onclick: async () => {
      try {
        await api(`/signage/interrupts/${i.id}/clear`, { method: "POST" });
        await sgInterrupts();
      } catch (e) { $("#sg-error").textContent = "解除失败：" + sgReason(e); }
    } }, "解除"))));
  if (!open.length) $("#sg-interrupt-list").append(el("li", { class: "hint" }, "当前没有紧急通知。"));
}

$("#sg-interrupt-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  $("#sg-interrupt-error").textContent = "";
  try {
    await api("/signage/interrupts", { method: "POST", body: { site: SG.site, title: f.title.value,
      body: f.body.value, screens: sgChecked($("#sg-interrupt-screens")) } });
    f.body.value = "";
    await sgInterrupts();
  } catch (e) { $("#sg-interrupt-error").textContent = "发布失败：" + sgReason(e); }
});

/* ---- preview and proof of play ---------------------------------------------------------- */

async function sgPreviewPage() {
  await sgLoad("screens", "content", "playlists");
  const form = $("#sg-preview-form");
  const sel = form.elements.screen;
  const keep = sel.value;
  sel.replaceChildren(...SG.screens.map((s) => el("option", { value: s.name }, s.name)));
  if (SG.screens.some((s) => s.name === keep)) sel.value = keep;
  if (!SG.screens.length) {
    $("#sg-preview-slide").replaceChildren(el("p", { class: "hint" }, "本服务点尚无屏幕。"));
    $("#sg-preview-info").replaceChildren();
    $("#sg-play-rows").replaceChildren();
    return;
  }
  if (!form.elements.at.value) {   // start from the site's own "now" (the API answers in its time zone)
    const now = await api(`/signage/screens/${encodeURIComponent(sel.value)}/preview`);
    form.elements.at.value = sgClock(now.at).replace(" ", "T");
  }
  await sgRunPreview();
}

function sgSlide(p) {
  const c = p.content;
  if (p.kind === "interrupt") {
    return el("div", { class: "slide alert" }, el("div", { class: "slide-tag" }, "紧急通知"),
      el("h2", {}, p.interrupt.title), el("p", { class: "pre" }, p.interrupt.body));
  }
  if (p.kind !== "playlist" || !c) {
    return el("div", { class: "slide board" }, el("h2", {}, SG.site), el("p", {}, sgClock(p.at)),
      el("p", { class: "hint" }, "默认画面：服务厅名称、日期时间、正在叫号、暂停服务窗口"));
  }
  if (c.kind === "text") {
    return el("div", { class: "slide text" }, el("h2", {}, c.title), el("p", { class: "pre" }, c.body));
  }
  const src = `${API}/signage/content/${c.id}`;       // the session cookie authenticates it
  if (c.kind === "image") return el("div", { class: "slide media" }, el("img", { src, alt: c.name }));
  return el("div", { class: "slide media" }, el("video", { src, muted: true, controls: true, loop: true, preload: "metadata" }));
}

function sgInfo(p) {
  const rows = [["屏幕", p.screen], ["时间", sgClock(p.at)], ["画面", SG_SHOWS[p.kind] || p.kind]];
  if (p.kind === "playlist") {
    const pl = SG.playlists.find((x) => x.id === p.playlist_id);
    rows.push(["排期", `#${p.schedule_id}`], ["播放列表", `${p.playlist}（#${p.playlist_id}）`],
              ["节目", `第 ${p.item_index + 1}${pl ? "/" + pl.items.length : ""} 项：${p.content.name}（${SG_KIND[p.content.kind] || p.content.kind}）`],
              ["本项时段", `${sgClock(p.item_start).slice(11)} – ${sgClock(p.item_end).slice(11)}`]);
  } else if (p.kind === "interrupt") {
    rows.push(["通知", p.interrupt.title], ["发布于", fmtTime(p.interrupt.started_s)]);
  }
  return rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { dataset: { field: k } }, v)]);
}

async function sgRunPreview() {
  const f = $("#sg-preview-form").elements;
  const screen = f.screen.value;
  if (!screen) return;
  const at = f.now.checked ? undefined : f.at.value || undefined;
  const box = $("#sg-preview-slide");
  try {
    const p = await api(`/signage/screens/${encodeURIComponent(screen)}/preview`, { params: { at } });
    box.replaceChildren(sgSlide(p));
    box.dataset.kind = p.kind;
    $("#sg-preview-info").replaceChildren(...sgInfo(p));
  } catch (e) {
    box.replaceChildren();
    delete box.dataset.kind;
    $("#sg-preview-info").replaceChildren(el("dd", { class: "error" }, "预览失败：" + sgReason(e)));
  }
  await sgPlays(screen);
}

/** The newest `keep` proof-of-play rows since `since_s`: the API pages forward in time. */
async function sgRecentPlays(screen, since_s, keep = 200) {
  const limit = 5000;
  let rows = [], since = since_s;
  for (let n = 0; n < 50; n++) {
    const batch = await api(`/signage/screens/${encodeURIComponent(screen)}/plays`, { params: { since_s: since, limit } });
    const seen = new Set(rows.map((r) => r.id));
    rows = rows.concat(batch.filter((r) => !seen.has(r.id))).slice(-keep);
    if (batch.length < limit || batch[batch.length - 1].started_s === since) break;
    since = batch[batch.length - 1].started_s;
  }
  return rows.reverse();
}

async function sgPlays(screen) {
  const since = Math.floor(Date.now() / 1000 - parseInt($("#sg-plays-range").value, 10));
  const plays = await sgRecentPlays(screen, since);
  const kinds = { playlist: "排期节目", interrupt: "紧急通知", default: "默认画面" };
  $("#sg-play-rows").replaceChildren(...plays.map((r) => el("tr", { class: r.status === "skipped" ? "skipped" : "",
                                                               dataset: { play: r.id } },
    el("td", {}, fmtTime(r.started_s)), el("td", {}, r.ended_s ? fmtTime(r.ended_s) : "—"),
    el("td", {}, kinds[r.kind] || r.kind),
    el("td", {}, r.status === "skipped" ? el("span", { class: "badge bad" }, "已跳过") : el("span", { class: "badge ok" }, "已播放")),
    el("td", {}, r.content_id ? sgContentName(r.content_id) : "—"),
    el("td", {}, r.playlist_id ? sgPlaylistName(r.playlist_id) : "", r.schedule_id ? ` · 排期 #${r.schedule_id}` : "",
      r.interrupt_id ? `紧急通知 #${r.interrupt_id}` : ""),
    el("td", {}, r.reason || ""))));
  if (!plays.length) $("#sg-play-rows").append(el("tr", {}, el("td", { colspan: 7 }, "此范围内没有播放记录。")));
}

const sgPreviewNow = () => sgRunPreview().catch((e) => { $("#sg-error").textContent = "加载失败：" + sgReason(e); });
$("#sg-preview-form").addEventListener("submit", (ev) => { ev.preventDefault(); sgPreviewNow(); });
$("#sg-preview-form").elements.now.addEventListener("change", (ev) => {
  $("#sg-preview-form").elements.at.disabled = ev.target.checked;
});
$("#sg-preview-form").elements.screen.addEventListener("change", sgPreviewNow);
$("#sg-plays-range").addEventListener("change", () => {
  const screen = $("#sg-preview-form").elements.screen.value;
  if (screen) sgPlays(screen).catch((e) => { $("#sg-error").textContent = "加载失败：" + sgReason(e); });
});

const SG_PAGES = { screens: sgScreens, content: sgContent, playlists: sgPlaylists, schedules: sgSchedules,
                   interrupts: sgInterrupts, preview: sgPreviewPage };

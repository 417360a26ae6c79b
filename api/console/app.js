/* 窗口服务录音管理台: a single-page console over the counterwatch API.
 * No token is ever kept by this script: login sets an HttpOnly session cookie and every call
 * (and the <audio> element) is authenticated by it. Text from the API is always inserted as
 * text (textContent), never as HTML. */
"use strict";

const API = "/api/v1";
const $ = (sel, root = document) => root.querySelector(sel);
const TYPE = { forbidden: "服务忌语", missing_courtesy: "缺少文明用语" };
const STATE = { open: "待审核", confirmed: "已确认", dismissed: "已驳回" };
const SPEAKER = { staff: "工作人员", customer: "客户" };
const ALARM = { "silent-microphone": "麦克风无声", "agent-gone": "采集端离线", "spool-near-quota": "缓存将满",
                "spool-full": "缓存已满", "store-unreachable": "存储不可达" };
const LEVELS = ["非常满意", "满意", "一般", "不满意"];
const LEVEL_COLORS = ["#2e7d32", "#81c784", "#ffb74d", "#e53935"];
let me = null;
let counterTimer = null;

class ApiError extends Error {
  /** detail: the API's own `detail` (a string, FastAPI's list of field errors, or an object such
   * as a schedule's {code, reason, schedule_ids}); the message is readable text made from it. */
  constructor(status, message, detail) { super(message); this.status = status; this.detail = detail; }
}

function describeDetail(d) {
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    return d.map((x) => {
      const loc = (x.loc || []).filter((p) => p !== "body" && p !== "query");
      return (loc.length ? loc.join(".") + "：" : "") + (x.msg || "");
    }).join("；");
  }
  if (d && typeof d.reason === "string") return d.reason;
  return JSON.stringify(d);
}

/** A call to the API; `body` is sent as JSON, `raw` (a File or Blob) as the request body itself. */
async function api(path, { method = "GET", body, params, raw } = {}) {
  let url = API + path;
  if (params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    if ([...q].length) url += "?" + q;
  }
  const opts = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  if (raw !== undefined) { opts.headers["Content-Type"] = raw.type || "application/octet-stream"; opts.body = raw; }
  const r = await fetch(url, opts);
  if (r.status === 401 && path !== "/auth/login") { showLogin(); throw new ApiError(401, "请先登录"); }
  if (!r.ok) {
    let message = r.statusText, detail = null;
    try { detail = (await r.json()).detail; message = describeDetail(detail); } catch (e) { /* not JSON */ }
    throw new ApiError(r.status, message, detail);
  }
  return r.status === 204 ? null : r.json();
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

const fmtTime = (s) => new Date(s * 1000).toLocaleString("zh-CN", { hour12: false });
const fmtOffset = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
const pct = (x) => (x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%");
const canReview = () => me && (me.role === "admin" || me.role === "supervisor");

/* ---- pages and routing ------------------------------------------------------------------ */

function showPage(name) {
  document.querySelectorAll(".page").forEach((p) => { p.hidden = p.id !== "page-" + name; });
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === name));
  if (name !== "counters" && counterTimer) { clearInterval(counterTimer); counterTimer = null; }
}

function showLogin() {
  me = null;
  $("#top").hidden = true;
  showPage("login");
}

function route() {
  if (!me) return showLogin();
  const [path, query] = (location.hash.slice(1) || "/counters").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  const pages = { counters: pageCounters, search: pageSearch, interaction: pageInteraction, review: pageReview,
                  complaints: pageComplaints, reports: pageReports, signage: pageSignage };   // signage.js
  const fn = pages[parts[0]] || pageCounters;
  fn(params, parts.slice(1)).catch((e) => console.error(e));
}

/* ---- login ------------------------------------------------------------------------------ */

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  $("#login-error").textContent = "";
  try {
    // The response also carries the token for API clients; the console ignores it and uses the cookie.
    await api("/auth/login", { method: "POST", body: { name: f.get("name"), password: f.get("password") } });
    ev.target.reset();
    await start();
  } catch (e) {
    $("#login-error").textContent = e.status === 401 ? "用户名或密码错误" : "登录失败：" + e.message;
  }
});

$("#logout").addEventListener("click", async () => {
  try { await api("/auth/logout", { method: "POST" }); } catch (e) { /* already out */ }
  showLogin();
});

async function start() {
  try { me = await api("/auth/me"); } catch (e) { return showLogin(); }
  $("#top").hidden = false;
  const roles = { admin: "管理员", supervisor: "主管", viewer: "查看员" };
  $("#whoami").textContent = `${me.name}（${roles[me.role] || me.role}）`;
  document.querySelectorAll("[data-page=review],[data-page=complaints],[data-page=reports],[data-page=signage]")
    .forEach((a) => { a.hidden = !canReview(); });
  route();
}

/* ---- counters overview ------------------------------------------------------------------ */

async function pageCounters() {
  showPage("counters");
  const draw = async () => {
    const counters = await api("/counters");
    const grid = $("#counter-grid");
    grid.replaceChildren(...counters.map((c) => {
      const fresh = c.last_heartbeat_s && Date.now() / 1000 - c.last_heartbeat_s < 90;
      const badges = [];
      if (c.paused) badges.push(el("span", { class: "badge grey" }, "暂停服务"));
      badges.push(fresh ? el("span", { class: "badge ok" }, "录音中") : el("span", { class: "badge grey" }, "无心跳"));
      for (const a of c.alarms) badges.push(el("span", { class: "badge bad" }, ALARM[a] || a));
      const card = el("div", { class: "counter" + (c.alarms.length ? " alarm" : "") + (c.paused ? " paused" : ""),
                               dataset: { counter: `${c.site}/${c.name}` } },
        el("div", { class: "name" }, `${c.site} · ${c.name} 号窗口`), el("div", {}, badges),
        el("div", { class: "hint" }, `采集端：${c.agent_status}` +
          (c.last_level_dbfs !== null ? `，电平 ${c.last_level_dbfs.toFixed(0)} dBFS` : "")));
      if (canReview()) {
        card.append(el("button", { type: "button", class: "secondary", onclick: () => {
          const a = el("audio", { controls: true, autoplay: true, src: `${API}/counters/${c.id}/live` });
          card.querySelector("audio")?.remove();
          card.append(a);
        } }, "实时监听"));
      }
      return card;
    }));
    if (!counters.length) grid.append(el("p", { class: "hint" }, "尚无登记的窗口。"));
  };
  await draw();
  if (!counterTimer) counterTimer = setInterval(() => draw().catch(() => {}), 10000);
}

/* ---- search ----------------------------------------------------------------------------- */

function highlighted(text, hits) {
  // hits: [start, end) character offsets into text.
  const out = [];
  let at = 0;
  for (const [a, b] of hits || []) {
    if (a > at) out.push(text.slice(at, a));
    out.push(el("mark", {}, text.slice(a, b)));
    at = b;
  }
  out.push(text.slice(at));
  return out;
}

$("#search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const p = new URLSearchParams();
  for (const k of ["q", "site", "counter"]) if (f.get(k)) p.set(k, f.get(k));
  location.hash = "#/search?" + p;
});

async function pageSearch(params) {
  showPage("search");
  const form = $("#search-form");
  for (const k of ["q", "site", "counter"]) form.elements[k].value = params.get(k) || "";
  const list = $("#search-results");
  list.replaceChildren();
  const q = params.get("q");
  if (!q) { $("#search-status").textContent = "按对话内容查找录音，点击结果回放。"; return; }
  $("#search-status").textContent = "检索中…";
  try {
    const hits = await api("/interactions/search", { params: { q, site: params.get("site"), counter: params.get("counter") } });
    $("#search-status").textContent = hits.length ? `找到 ${hits.length} 处` : "没有找到。";
    list.replaceChildren(...hits.map((h) => el("li", {
      class: "hit", onclick: () => { location.hash = `#/interaction/${h.interaction_id}?t=${h.offset_s}`; } },
      el("div", { class: "hint" }, `${h.site} · ${h.counter} 号窗口 · ${fmtTime(h.wall_start_s)} · 第 ${fmtOffset(h.offset_s)} · ${SPEAKER[h.speaker] || h.speaker}`),
      el("div", { class: "snippet" }, highlighted(h.text, h.hits)))));
  } catch (e) {
    $("#search-status").textContent = "检索失败：" + e.message;
  }
}

/* ---- one interaction: player, transcript, flags ----------------------------------------- */

async function pageInteraction(params, [id]) {
  showPage("interaction");
  const inter = await api(`/interactions/${encodeURIComponent(id)}`);
  const start = Math.max(0, parseFloat(params.get("t") || "0") || 0);
  $("#inter-title").textContent = `录音 #${inter.id} · ${inter.site} · ${inter.counter} 号窗口`;
  $("#inter-meta").textContent = `${fmtTime(inter.wall_start_s)}，时长 ${fmtOffset(inter.duration_s)}` +
    (inter.staff ? `，工作人员 ${inter.staff}` : "") + (inter.rating ? `，评价：${inter.rating}` : "");
  const player = $("#player");
  const flagged = (seg) => inter.flags.some((f) => f.start_s < seg.end_s && f.end_s >= seg.start_s && f.type === "forbidden");
  const lines = inter.segments.map((g) => el("li", {
    class: `${g.speaker}${flagged(g) ? " flagged" : ""}`, dataset: { start: g.start_s, end: g.end_s },
    onclick: () => seek(g.start_s) },
    el("span", { class: "t" }, fmtOffset(g.start_s)), el("span", { class: "sp" }, SPEAKER[g.speaker] || g.speaker),
    el("span", { class: "tx" }, g.text)));
  $("#transcript").replaceChildren(...lines);
  if (!lines.length) $("#transcript").append(el("li", {}, "（无文本）"));
  $("#inter-flags").replaceChildren(...inter.flags.map((f) => flagItem(f, () => seek(f.start_s), () => pageInteraction(params, [id]))));
  if (!inter.flags.length) $("#inter-flags").append(el("li", {}, "未发现问题。"));

  function seek(t) {
    player.currentTime = t;
    player.play().catch(() => {});
  }
  player.ontimeupdate = () => {
    const t = player.currentTime;
    for (const li of lines) {
      const on = t >= +li.dataset.start && t < +li.dataset.end;
      if (on && !li.classList.contains("playing")) li.scrollIntoView({ block: "nearest" });
      li.classList.toggle("playing", on);
    }
  };
  const src = `${API}/interactions/${inter.id}/audio`;
  if (!player.src.endsWith(src)) {
    player.onloadedmetadata = () => { player.currentTime = start; player.play().catch(() => {}); };
    player.src = src;
  } else {
    seek(start);
  }
}

function flagItem(f, onSeek, onDone) {
  const li = el("li", { dataset: { flag: f.id } },
    el("div", {}, el("span", { class: "badge" + (f.type === "forbidden" ? " bad" : "") }, TYPE[f.type] || f.type), ` ${f.rule}`,
      el("span", { class: "badge grey" }, STATE[f.review_state] || f.review_state)),
    f.phrase ? el("div", {}, `“${f.phrase}” · 第 ${fmtOffset(f.start_s)}`) : null,
    f.review_note ? el("div", { class: "hint" }, `审核意见：${f.review_note}`) : null);
  li.addEventListener("click", (ev) => { if (ev.target.closest("button,input")) return; onSeek(); });
  if (canReview()) li.append(reviewControls(f, onDone));
  return li;
}

function reviewControls(f, onDone) {
  const note = el("input", { placeholder: "审核意见", maxlength: 2000, class: "review-note" });
  const send = (state) => async () => {
    try {
      await api(`/flags/${f.id}/review`, { method: "POST", body: { state, note: note.value } });
      onDone();
    } catch (e) { alert("审核失败：" + e.message); }
  };
  return el("div", { class: "review-actions" }, note,
    el("button", { type: "button", class: "confirm", onclick: send("confirmed") }, "确认"),
    el("button", { type: "button", class: "secondary dismiss", onclick: send("dismissed") }, "驳回"));
}

/* ---- review queue ----------------------------------------------------------------------- */

$("#review-state").addEventListener("change", () => pageReview());
$("#review-type").addEventListener("change", () => pageReview());

async function pageReview() {
  showPage("review");
  const flags = await api("/flags", { params: { review_state: $("#review-state").value, type: $("#review-type").value, limit: 500 } });
  const rows = flags.map((f) => el("tr", { dataset: { flag: f.id } },
    el("td", {}, fmtTime(f.wall_start_s)), el("td", {}, `${f.site} · ${f.counter}`),
    el("td", {}, TYPE[f.type] || f.type), el("td", {}, f.rule),
    el("td", {}, f.phrase ? `“${f.phrase}” ` : "", el("a", { href: `#/interaction/${f.interaction_id}?t=${f.start_s}` }, "回放"),
      f.review_note ? el("div", { class: "hint" }, `${f.reviewed_by || ""}：${f.review_note}`) : null),
    el("td", {}, canReview() ? reviewControls(f, () => pageReview()) : STATE[f.review_state])));
  $("#review-rows").replaceChildren(...rows);
  if (!rows.length) $("#review-rows").append(el("tr", {}, el("td", { colspan: 6 }, "没有需要处理的记录。")));
}

/* ---- complaints ------------------------------------------------------------------------- */

$("#complaint-state").addEventListener("change", () => pageComplaints());
$("#complaint-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const days = parseFloat(f.get("due_days") || "5");
  const body = { site: f.get("site"), complainant: f.get("complainant") || "", summary: f.get("summary"),
                 due_s: Date.now() / 1000 + days * 86400 };
  if (f.get("interaction_id")) body.interaction_id = parseInt(f.get("interaction_id"), 10);
  $("#complaint-error").textContent = "";
  try {
    await api("/complaints", { method: "POST", body });
    ev.target.reset();
    pageComplaints();
  } catch (e) { $("#complaint-error").textContent = "登记失败：" + e.message; }
});

async function pageComplaints() {
  showPage("complaints");
  const form = $("#complaint-form");
  if (!form.elements.site.value && me.sites.length) form.elements.site.value = me.sites[0];
  const list = await api("/complaints", { params: { state: $("#complaint-state").value } });
  $("#complaint-list").replaceChildren(...list.map((c) => {
    const li = el("li", { class: c.overdue ? "overdue" : c.state, dataset: { complaint: c.id } },
      el("div", {}, el("span", { class: "badge" + (c.overdue ? " bad" : c.state === "answered" ? " ok" : "") },
        c.overdue ? "已超期" : c.state === "answered" ? "已答复" : "待答复"),
        ` ${c.site} · 受理 ${fmtTime(c.received_s)} · 期限 ${fmtTime(c.due_s)}`,
        c.complainant ? ` · 投诉人 ${c.complainant}` : ""),
      el("p", {}, c.summary),
      c.interaction_id ? el("a", { href: `#/interaction/${c.interaction_id}` }, `回放录音 #${c.interaction_id}`) : null);
    if (c.state === "answered") {
      li.append(el("p", {}, el("strong", {}, "处理结果："), c.finding), el("div", { class: "hint" }, `答复于 ${fmtTime(c.answered_s)}`));
    } else {
      const finding = el("textarea", { rows: 2, placeholder: "核查结果与答复内容" });
      li.append(finding, el("button", { type: "button", onclick: async () => {
        try {
          await api(`/complaints/${c.id}`, { method: "PATCH", body: { finding: finding.value, state: "answered" } });
          pageComplaints();
        } catch (e) { alert("提交失败：" + e.message); }
      } }, "提交答复"));
    }
    return li;
  }));
  if (!list.length) $("#complaint-list").append(el("li", {}, "暂无投诉。"));
}

/* ---- reports with inline SVG charts ----------------------------------------------------- */

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Horizontal bars: rows of {label, parts: [{value, color, title}]}; max: the full width's value. */
function barChart(title, rows, { max, fmt = (v) => v } = {}) {
  const rowH = 24, left = 110, width = 340;
  const total = (r) => r.parts.reduce((s, p) => s + p.value, 0);
  const top = max || Math.max(1, ...rows.map(total));
  const box = svg("svg", { viewBox: `0 0 ${left + width + 60} ${rows.length * rowH + 10}`, width: left + width + 60,
                            height: rows.length * rowH + 10, style: "max-width:100%;height:auto", role: "img" });
  rows.forEach((r, i) => {
    const y = 5 + i * rowH;
    box.append(svg("text", { x: left - 6, y: y + 15, "text-anchor": "end" }, r.label));
    let x = left;
    for (const p of r.parts) {
      const w = (p.value / top) * width;
      const rect = svg("rect", { x, y: y + 3, width: Math.max(0, w), height: rowH - 8, fill: p.color });
      rect.append(svg("title", {}, `${p.title || ""} ${fmt(p.value)}`));
      box.append(rect);
      x += w;
    }
    box.append(svg("text", { x: x + 4, y: y + 15 }, fmt(total(r))));
  });
  return el("figure", {}, el("figcaption", {}, title), box);
}

$("#report-form").addEventListener("submit", (ev) => { ev.preventDefault(); pageReports(); });
$("#report-csv").addEventListener("click", () => {
  const f = new FormData($("#report-form"));
  const p = new URLSearchParams({ month: f.get("month"), format: "csv" });
  if (f.get("site")) p.set("site", f.get("site"));
  location.href = `${API}/reports/monthly?${p}`;     // the cookie authenticates the download
});

async function pageReports() {
  showPage("reports");
  const form = $("#report-form");
  if (!form.elements.month.value) {
    const d = new Date();
    form.elements.month.value = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
  }
  const rep = await api("/reports/monthly", { params: { month: form.elements.month.value, site: form.elements.site.value } });
  const staff = rep.by_staff.filter((r) => r.interactions > 0);
  const forbidden = Object.entries(rep.total.forbidden_by_rule);
  $("#report-charts").replaceChildren(
    barChart("文明用语达标率（按工作人员）", staff.map((r) => ({ label: r.name,
      parts: [{ value: r.courtesy_score || 0, color: "#1565c0", title: "达标率" }] })), { max: 1, fmt: pct }),
    barChart("满意度评价（按工作人员）", staff.map((r) => ({ label: r.name,
      parts: LEVELS.map((lv, i) => ({ value: r.ratings[lv], color: LEVEL_COLORS[i], title: lv })) }))),
    barChart("服务忌语（按规则）", forbidden.map(([rule, n]) => ({ label: rule, parts: [{ value: n, color: "#c62828" }] }))));
  const head = ["", "名称", "服务次数", "文明用语达标率", "服务忌语", "已确认", "已驳回", "待审核", ...LEVELS];
  const line = (group, r) => el("tr", {}, el("td", {}, group), el("td", {}, `${r.site} · ${r.name}`),
    el("td", { class: "num" }, r.interactions), el("td", { class: "num" }, pct(r.courtesy_score)),
    el("td", { class: "num" }, Object.values(r.forbidden_by_rule).reduce((a, b) => a + b, 0)),
    el("td", { class: "num" }, r.flags_confirmed), el("td", { class: "num" }, r.flags_dismissed),
    el("td", { class: "num" }, r.flags_open), ...LEVELS.map((lv) => el("td", { class: "num" }, r.ratings[lv])));
  $("#report-table").replaceChildren(el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
    el("tbody", {}, rep.by_staff.map((r) => line("人员", r)), rep.by_counter.map((r) => line("窗口", r)), line("合计", rep.total)));
}

window.addEventListener("hashchange", route);
// After every script of the page has run (signage.js defines pageSignage), not before.
document.addEventListener("DOMContentLoaded", start);

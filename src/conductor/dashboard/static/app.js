/* Engagement Conductor: the organiser's dashboard.
 *
 * Hand-written, no build step. Every piece of text that comes from the API reaches the page
 * through textContent or setAttribute (the h() helper below), never through innerHTML.
 * Views: "#/" or "#/event/<id>" (the event overview) and "#/session/<id>" (one session).
 */
"use strict";

(() => {
  const API = "/api/v1";
  const TOKEN_KEY = "conductor.token";
  const REFRESH_MS = 15000;
  const SPARK_POINTS = 60;
  const CHART_POINTS = 1000;

  // ---------------------------------------------------------------- words and labels

  const MODE_LABEL = { MANUAL: "Manual", SEMI_AUTO: "Semi-auto", AUTO: "Auto" };
  const MODE_HELP = {
    MANUAL: "Every suggestion waits for your approval.",
    SEMI_AUTO: "The agent acts alone when it is confident enough; the rest waits for you.",
    AUTO: "The agent acts alone on every suggestion.",
  };
  const STATUS_LABEL = {
    MONITORING: ["◉", "Monitoring"],
    ANOMALY_DETECTED: ["⚠", "Anomaly detected"],
    WAITING_APPROVAL: ["◷", "Waiting for approval"],
    INTERVENING: ["▶", "Intervening"],
    LEARNING: ["✎", "Learning"],
    IDLE: ["○", "Idle"],
  };
  const TYPE_LABEL = {
    POLL: "Poll",
    CHAT_PROMPT: "Chat prompt",
    NOTIFICATION: "Organiser notification",
    GAMIFICATION: "Challenge",
  };
  const ANOMALY_LABEL = {
    SUDDEN_DROP: "Sudden drop",
    GRADUAL_DECLINE: "Gradual decline",
    LOW_ENGAGEMENT: "Low engagement",
    MASS_EXIT: "Mass exit",
  };
  const SEVERITY = {
    CRITICAL: { icon: "‼", label: "Critical", rank: 2 },
    WARNING: { icon: "⚠", label: "Warning", rank: 1 },
  };
  const TREND = {
    RISING: ["▲", "Rising"],
    FALLING: ["▼", "Falling"],
    STABLE: ["▶", "Stable"],
  };
  const FEED_KIND = {
    saw: ["◉", "Saw"],
    decided: ["◆", "Decided"],
    did: ["▶", "Did"],
    measured: ["✓", "Measured"],
    dismissed: ["✕", "Dismissed"],
    expired: ["⊘", "Expired"],
    approved: ["✔", "Approved"],
    mode: ["⚙", "Mode"],
  };
  const ORIGIN_LABEL = { AUTO: "Agent (auto)", APPROVED: "Approved", MANUAL: "Manual request" };

  const label = (table, key) => (key && table[key]) || (key == null ? "—" : String(key));

  // ---------------------------------------------------------------- DOM helpers

  /** An element; attributes by setAttribute, text by text nodes: nothing is parsed as HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    applyAttrs(el, attrs);
    appendAll(el, children);
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    applyAttrs(el, attrs);
    appendAll(el, children);
    return el;
  }

  function applyAttrs(el, attrs) {
    if (!attrs) return;
    for (const [key, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (key === "class") {
        el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
      } else if (value === true) {
        el.setAttribute(key, "");
      } else {
        el.setAttribute(key, String(value));
      }
    }
  }

  function appendAll(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child == null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  const $ = (selector, root = document) => root.querySelector(selector);

  /** Replace a container's content without losing the keyboard focus of a same-keyed element. */
  function fill(container, ...children) {
    if (!container) return;
    const active = document.activeElement;
    const key = active && container.contains(active) ? active.getAttribute("data-key") : null;
    container.replaceChildren();
    appendAll(container, children);
    if (key) {
      const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
      if (again) again.focus({ preventScroll: true });
    }
  }

  /** Keep one element per key, in order; create new ones, update kept ones, drop the rest. */
  function syncKeyed(container, items, keyOf, create, update) {
    const active = document.activeElement;
    const existing = new Map();
    for (const child of Array.from(container.children)) {
      existing.set(child.getAttribute("data-item"), child);
    }
    const wanted = [];
    for (const item of items) {
      const key = keyOf(item);
      let el = existing.get(key);
      if (el) {
        existing.delete(key);
        if (update) update(el, item);
      } else {
        el = create(item);
        el.setAttribute("data-item", key);
      }
      wanted.push(el);
    }
    for (const gone of existing.values()) gone.remove();
    wanted.forEach((el, index) => {
      if (container.children[index] !== el) container.insertBefore(el, container.children[index] || null);
    });
    if (active && active !== document.activeElement && document.contains(active)) {
      active.focus({ preventScroll: true });
    }
  }

  // ---------------------------------------------------------------- formatting

  const isNum = (x) => typeof x === "number" && Number.isFinite(x);
  const fmtScore = (x) => (isNum(x) ? x.toFixed(2) : "—");
  const fmtPct = (x) => (isNum(x) ? `${Math.round(x * 100)}%` : "—");
  const fmtRate = (x) => (isNum(x) ? `${x.toFixed(x >= 100 ? 0 : 1)}/min` : "—");
  const fmtSigned = (x) => (isNum(x) ? `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}` : "—");
  const fmtInt = (x) => (isNum(x) ? Math.round(x).toLocaleString() : "—");

  function toDate(value) {
    if (!value) return null;
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  function fmtTime(value) {
    const d = toDate(value);
    return d ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "—";
  }

  /** Plotly reads "YYYY-MM-DD HH:MM:SS" as wall time; use the browser's local time. */
  function plotTime(value) {
    const d = value instanceof Date ? value : toDate(value);
    if (!d) return null;
    const p = (n, w = 2) => String(n).padStart(w, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
      `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  }

  /** Plotly's labels understand a few tags; text from the API must never be one. */
  const plotText = (text) => String(text ?? "").replace(/[<>&]/g, (c) => ({ "<": "‹", ">": "›", "&": "+" })[c]);

  const sessionName = (summary, id) => (summary && (summary.title || summary.topic)) || id;

  function trendOf(scores) {
    const points = scores.slice(-12);
    if (points.length < 4) return "STABLE";
    const half = Math.floor(points.length / 2);
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const delta = mean(points.slice(half)) - mean(points.slice(0, half));
    if (delta > 0.04) return "RISING";
    if (delta < -0.04) return "FALLING";
    return "STABLE";
  }

  function severityBadge(severity, extra) {
    const sev = SEVERITY[severity] || { icon: "•", label: String(severity || "Unknown") };
    return h("span", { class: ["badge", `sev-${String(severity || "").toLowerCase()}`] },
      h("span", { "aria-hidden": "true" }, sev.icon), " ", sev.label, extra ? ` · ${extra}` : "");
  }

  function trendBadge(trend) {
    const [icon, text] = TREND[trend] || TREND.STABLE;
    return h("span", { class: ["trend", `trend-${String(trend || "STABLE").toLowerCase()}`] },
      h("span", { "aria-hidden": "true" }, icon), " ", text);
  }

  function statusBadge(status) {
    const [icon, text] = STATUS_LABEL[status] || ["•", String(status || "Unknown")];
    return h("span", { class: ["status", `status-${String(status || "").toLowerCase()}`] },
      h("span", { "aria-hidden": "true" }, icon), " ", text);
  }

  function scoreBar(value, threshold) {
    const v = isNum(value) ? Math.max(0, Math.min(1, value)) : 0;
    const low = isNum(value) && isNum(threshold) && value < threshold;
    return h("span", { class: ["bar", low && "bar-low"], "aria-hidden": "true" },
      h("span", { class: "bar-fill", style: `width:${(v * 100).toFixed(1)}%` }));
  }

  function sparkline(scores, threshold) {
    const w = 96;
    const hgt = 30;
    const pts = scores.filter(isNum);
    const svg = s("svg", { class: "sparkline", viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt,
      "aria-hidden": "true", focusable: "false" });
    if (isNum(threshold)) {
      const y = (hgt - threshold * hgt).toFixed(1);
      svg.append(s("line", { x1: 0, x2: w, y1: y, y2: y, class: "spark-threshold" }));
    }
    if (pts.length > 1) {
      const step = w / (pts.length - 1);
      const coords = pts.map((p, i) => `${(i * step).toFixed(1)},${(hgt - p * (hgt - 2) - 1).toFixed(1)}`);
      svg.append(s("polyline", { points: coords.join(" "), class: "spark-line" }));
    }
    return svg;
  }

  // ---------------------------------------------------------------- notices

  function notify(text, kind = "info") {
    const box = $("#notices");
    const icon = { info: "ℹ", ok: "✔", error: "✕" }[kind] || "ℹ";
    const note = h("p", { class: ["notice", `notice-${kind}`] },
      h("span", { "aria-hidden": "true" }, icon), " ", text,
      h("button", { type: "button", class: "notice-close", "aria-label": "Close this message",
        onclick: () => note.remove() }, "×"));
    box.append(note);
    while (box.children.length > 4) box.firstElementChild.remove();
    setTimeout(() => note.remove(), kind === "error" ? 15000 : 8000);
  }

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, body) {
      super((body && (body.message || body.error)) || `the service answered ${status}`);
      this.status = status;
      this.code = body && body.error;
    }
  }

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  async function api(path, { method = "GET", body } = {}) {
    const headers = { Accept: "application/json" };
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(API + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, { message: "the service cannot be reached" });
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (response.status === 401) {
      askForToken(data && data.message);
      throw new ApiError(401, data);
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  const enc = encodeURIComponent;

  // ---------------------------------------------------------------- live streams

  /** One EventSource at a time; reconnects after failures and asks for a token after a 401. */
  const live = {
    source: null,
    path: null,
    handlers: null,
    retry: null,
    opens: 0,
    open(path, handlers) {
      this.close();
      this.path = path;
      this.handlers = handlers;
      this.opens = 0;
      this.connect();
    },
    connect() {
      const t = token();
      const url = API + this.path + (t ? `?token=${enc(t)}` : "");
      const source = new EventSource(url);
      this.source = source;
      setConnection("connecting");
      source.onopen = () => {
        setConnection("live");
        // After a reconnect, fetch what the stream may have missed meanwhile.
        if (this.opens > 0 && this.handlers.reopened) this.handlers.reopened();
        this.opens += 1;
      };
      source.onerror = () => {
        if (source.readyState === EventSource.CLOSED) {
          setConnection("offline");
          this.source = null;
          this.probe();
        } else {
          setConnection("connecting");
        }
      };
      for (const [type, handler] of Object.entries(this.handlers)) {
        if (type === "reopened") continue;
        source.addEventListener(type, (message) => {
          let data;
          try {
            data = JSON.parse(message.data);
          } catch (error) {
            return;
          }
          try {
            handler(data);
          } catch (error) {
            console.error("live update failed", type, error);
          }
        });
      }
    },
    /** The browser says nothing about why a stream failed: ask the API, then retry. */
    async probe() {
      const path = this.path;
      if (!path) return;
      try {
        await api(path.replace(/\/live$/, ""));
      } catch (error) {
        if (error.status === 401) return;
      }
      clearTimeout(this.retry);
      this.retry = setTimeout(() => {
        if (this.path === path && !this.source) this.connect();
      }, 3000);
    },
    close() {
      clearTimeout(this.retry);
      if (this.source) this.source.close();
      this.source = null;
      this.path = null;
    },
  };

  function setConnection(mode) {
    const box = $("#connection");
    const text = { live: "Live", connecting: "Connecting…", offline: "Offline, retrying", idle: "Not connected" };
    box.setAttribute("data-state", mode);
    $(".connection-text", box).textContent = text[mode] || mode;
  }

  // ---------------------------------------------------------------- state

  const state = {
    events: [],
    eventId: null,
    route: null,
    sort: { key: "score", dir: "asc" },
    sessions: new Map(),
    pending: new Map(),
    busy: new Set(),
    eventOutcomes: {},
    eventHistory: [],
    session: null,
    points: [],
    anomalies: [],
    interventions: [],
    localFeed: [],
    modeBusy: false,
    timers: new Set(),
    started: false,
    threshold: 0.25,
    thresholdKnown: false,
  };

  const debounced = new Map();
  function soon(name, fn, ms) {
    clearTimeout(debounced.get(name));
    debounced.set(name, setTimeout(() => {
      debounced.delete(name);
      fn();
    }, ms));
  }

  function every(ms, fn) {
    const id = setInterval(fn, ms);
    state.timers.add(id);
  }

  function stopTimers() {
    for (const id of state.timers) clearInterval(id);
    state.timers.clear();
    for (const id of debounced.values()) clearTimeout(id);
    debounced.clear();
  }

  const currentEvent = () => state.events.find((e) => e.event_id === state.eventId) || null;

  // ---------------------------------------------------------------- auth

  function askForToken(reason) {
    live.close();
    stopTimers();
    setConnection("idle");
    const login = $("#login");
    if (!login.hidden) return; // already asking (several requests can fail at once)
    $("#view").replaceChildren();
    const had = Boolean(token());
    $("#login-reason").textContent = had
      ? "That token was not accepted. Paste another one (it stays in this browser tab only)."
      : "The service asks for a token. Paste the one you were given (it stays in this browser tab only and is forgotten when you close it).";
    $("#login-error").textContent = had && reason ? `The service said: ${reason}` : "";
    if (had) sessionStorage.removeItem(TOKEN_KEY);
    $("#sign-out").hidden = true;
    $("#event-picker").hidden = true;
    login.hidden = false;
    $("#login-token").focus();
  }

  function setupLogin() {
    $("#login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("#login-token").value.trim().replace(/^Bearer\s+/i, "");
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      $("#login-token").value = "";
      $("#login").hidden = true;
      start();
    });
    $("#sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      askForToken();
    });
  }

  // ---------------------------------------------------------------- routing

  function decoded(part) {
    try {
      return decodeURIComponent(part);
    } catch (error) {
      return part;
    }
  }

  function parseRoute() {
    const hash = location.hash || "#/";
    let m = /^#\/session\/([^/]+)$/.exec(hash);
    if (m) return { view: "session", id: decoded(m[1]) };
    m = /^#\/event\/([^/]+)$/.exec(hash);
    if (m) return { view: "overview", eventId: decoded(m[1]) };
    if (hash === "#/" || hash === "#") return { view: "overview", eventId: null };
    return null; // an in-page anchor such as #main
  }

  function onRoute() {
    // An in-page anchor (the skip link) keeps the current view; on first load it means "/".
    const route = parseRoute() || (state.route ? null : { view: "overview", eventId: null });
    if (!route || !state.started) return;
    state.route = route;
    live.close();
    stopTimers();
    if (route.view === "session") showSession(route.id);
    else showOverview(route.eventId);
  }

  function fillEventPicker() {
    const select = $("#event-select");
    fill(select, state.events.map((e) =>
      h("option", { value: e.event_id, selected: e.event_id === state.eventId },
        e.name ? `${e.name} (${e.event_id})` : e.event_id)));
    select.value = state.eventId || "";
    $("#event-picker").hidden = state.events.length === 0;
  }

  // ---------------------------------------------------------------- start

  async function start() {
    $("#login").hidden = true;
    $("#sign-out").hidden = !token();
    setConnection("idle");
    let events;
    try {
      events = (await api("/events")).events || [];
    } catch (error) {
      if (error.status === 401) return;
      if (error.status === 403) {
        askForToken();
        $("#login-error").textContent = `This token may not read the dashboard: ${error.message}`;
        return;
      }
      fill($("#view"), h("section", { class: "panel" }, h("h1", null, "The dashboard cannot load"),
        h("p", null, `${error.message}. It will try again in a few seconds.`)));
      setTimeout(start, 5000);
      return;
    }
    state.events = events;
    state.started = true;
    if (!state.eventId || !events.some((e) => e.event_id === state.eventId)) {
      state.eventId = events.length ? events[0].event_id : null;
    }
    fillEventPicker();
    onRoute();
  }

  // ---------------------------------------------------------------- suggestion cards

  function contentView(type, content) {
    const c = content && typeof content === "object" ? content : {};
    const str = (x) => (typeof x === "string" ? x : x == null ? "" : String(x));
    switch (type) {
      case "POLL": {
        const options = Array.isArray(c.options) ? c.options : [];
        return h("div", { class: "preview preview-poll" },
          h("p", { class: "preview-kind" }, "Poll shown to the audience"),
          h("p", { class: "preview-question" }, str(c.question)),
          h("ul", { class: "preview-options" }, options.map((o) =>
            h("li", null, h("span", { class: "radio", "aria-hidden": "true" }),
              typeof o === "object" && o ? str(o.text) : str(o)))),
          isNum(c.duration) ? h("p", { class: "muted" }, `Open for ${c.duration} s`) : null);
      }
      case "CHAT_PROMPT":
        return h("div", { class: "preview preview-chat" },
          h("p", { class: "preview-kind" }, "Message posted to everyone"),
          h("blockquote", null, str(c.message || c.prompt || c.text)));
      case "GAMIFICATION": {
        const r = c.rewards && typeof c.rewards === "object" ? c.rewards : null;
        return h("div", { class: "preview preview-game" },
          h("p", { class: "preview-kind" },
            c.action === "POINTS_BOOST" ? "Points boost for everyone" : "Challenge started for everyone"),
          h("p", { class: "preview-question" }, str(c.name)),
          h("p", null, str(c.description)),
          h("p", { class: "muted" },
            isNum(c.duration_minutes) ? `Runs ${c.duration_minutes} min` : "",
            r ? ` · Rewards: 1st ${str(r.first)}, 2nd ${str(r.second)}, 3rd ${str(r.third)} points` : "",
            isNum(c.multiplier) ? ` · ×${c.multiplier} points` : ""));
      }
      case "NOTIFICATION":
        return h("div", { class: "preview preview-note" },
          h("p", { class: "preview-kind" }, "Notification to the organisers"),
          h("p", { class: "preview-question" }, str(c.title)),
          h("p", null, str(c.body || c.message)),
          c.suggested_action ? h("p", { class: "muted" }, `Suggested: ${str(c.suggested_action)}`) : null);
      default:
        return h("div", { class: "preview" },
          h("dl", null, Object.entries(c).filter(([, v]) => typeof v !== "object").map(([k, v]) =>
            [h("dt", null, k), h("dd", null, str(v))])));
    }
  }

  function suggestionCard(d, { showSession }) {
    const name = sessionName(state.sessions.get(d.session_id), d.session_id);
    const typeLabel = label(TYPE_LABEL, d.type);
    const id = d.decision_id;
    const status = h("p", { class: "card-status", role: "status" });
    const reasonId = `reason-${id}`;
    const dismissForm = h("form", { class: "dismiss-form", hidden: true,
      onsubmit: (event) => {
        event.preventDefault();
        dismiss(d, $("textarea", dismissForm).value.trim());
      } },
      h("label", { for: reasonId }, "Why dismiss it? (optional, kept with the decision)"),
      h("textarea", { id: reasonId, rows: 2, maxlength: 500, "data-key": `reason:${id}` }),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "button danger", "data-key": `confirm-dismiss:${id}` },
          "Dismiss suggestion"),
        h("button", { type: "button", class: "button subtle", "data-key": `cancel-dismiss:${id}`,
          onclick: () => {
            dismissForm.hidden = true;
            $(".dismiss-open", card).focus();
          } }, "Keep it")));
    const anomaly = d.anomaly && typeof d.anomaly === "object" ? d.anomaly : null;
    const card = h("article", { class: ["card", "suggestion", `type-${String(d.type).toLowerCase()}`],
      "data-decision": id, "data-session": d.session_id, "data-type": d.type,
      "aria-labelledby": `title-${id}` },
      h("header", { class: "card-head" },
        h("h3", { id: `title-${id}` }, h("span", { class: "type-icon", "aria-hidden": "true" },
          { POLL: "☰", CHAT_PROMPT: "✉", NOTIFICATION: "⚑", GAMIFICATION: "★" }[d.type] || "◆"),
          ` ${typeLabel}`),
        showSession ? h("a", { href: `#/session/${enc(d.session_id)}`, class: "card-session" }, name) : null,
        anomaly ? severityBadge(anomaly.severity, label(ANOMALY_LABEL, anomaly.type)) : null),
      contentView(d.type, d.content),
      h("dl", { class: "facts" },
        h("div", null, h("dt", null, "Confidence"), h("dd", null,
          h("meter", { min: 0, max: 1, value: isNum(d.confidence) ? d.confidence : 0,
            "aria-label": "Confidence" }), ` ${fmtPct(d.confidence)}`)),
        h("div", null, h("dt", null, "Expected impact"), h("dd", null, fmtSigned(d.expected_impact))),
        h("div", null, h("dt", null, "Priority"), h("dd", null, String(d.priority || "—"))),
        h("div", null, h("dt", null, "Expires"), h("dd", null, fmtTime(d.expires_at)))),
      h("p", { class: "reason" }, h("strong", null, "Why: "), String(d.reason || "")),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "button primary approve", "data-key": `approve:${id}`,
          "aria-label": `Approve ${typeLabel} for ${name}`, onclick: () => approve(d) },
          h("span", { "aria-hidden": "true" }, "✔ "), "Approve"),
        h("button", { type: "button", class: "button dismiss-open", "data-key": `dismiss:${id}`,
          "aria-label": `Dismiss ${typeLabel} for ${name}`, "aria-expanded": "false",
          onclick: (event) => {
            dismissForm.hidden = !dismissForm.hidden;
            event.currentTarget.setAttribute("aria-expanded", String(!dismissForm.hidden));
            if (!dismissForm.hidden) $("textarea", dismissForm).focus();
          } }, h("span", { "aria-hidden": "true" }, "✕ "), "Dismiss…")),
      dismissForm,
      status);
    return card;
  }

  /** A keyboard user whose card just went keeps a place: the next card, else the heading. */
  function keepPlaceAfter(id) {
    const card = document.querySelector(`[data-decision="${CSS.escape(id)}"]`);
    if (!card || !card.contains(document.activeElement)) return () => {};
    const next = card.nextElementSibling || card.previousElementSibling;
    return () => {
      const target = (next && document.contains(next) && $(".approve", next)) || $("#approvals-title");
      if (target) target.focus({ preventScroll: true });
    };
  }

  function setCardBusy(id, text) {
    const card = document.querySelector(`[data-decision="${CSS.escape(id)}"]`);
    if (!card) return;
    card.classList.toggle("busy", Boolean(text));
    for (const b of card.querySelectorAll("button, textarea")) b.disabled = Boolean(text);
    $(".card-status", card).textContent = text || "";
  }

  function waitingFor(sessionId) {
    let n = 0;
    for (const d of state.pending.values()) if (d.session_id === sessionId) n += 1;
    return n;
  }

  function renderSuggestions() {
    const list = $("#suggestions");
    if (!list) return;
    if (state.route && state.route.view === "overview") scheduleOverviewRender();
    const sessionId = state.route && state.route.view === "session" ? state.route.id : null;
    const items = Array.from(state.pending.values())
      .filter((d) => !sessionId || d.session_id === sessionId);
    syncKeyed(list, items, (d) => d.decision_id,
      (d) => suggestionCard(d, { showSession: !sessionId }));
    const empty = $("#suggestions-empty");
    if (empty) empty.hidden = items.length > 0;
    const count = $("#suggestions-count");
    if (count) count.textContent = String(items.length);
  }

  function setPending(decisions) {
    const fresh = new Map();
    for (const d of decisions) if (!state.busy.has(d.decision_id)) fresh.set(d.decision_id, d);
    state.pending = fresh;
    renderSuggestions();
  }

  function onDecision(d) {
    if (!d || !d.decision_id) return;
    if (d.status === "PENDING") {
      if (state.busy.has(d.decision_id)) return;
      const route = state.route;
      if (route && route.view === "session" && d.session_id !== route.id) return;
      if (route && route.view === "overview" && d.event_id && d.event_id !== state.eventId) return;
      state.pending = new Map([[d.decision_id, d], ...state.pending]);
    } else {
      state.pending.delete(d.decision_id);
    }
    renderSuggestions();
  }

  async function approve(d) {
    const id = d.decision_id;
    if (state.busy.has(id)) return;
    state.busy.add(id);
    const typeLabel = label(TYPE_LABEL, d.type);
    const refocus = keepPlaceAfter(id);
    setCardBusy(id, "Approving…");
    // Optimistic: the card goes and the feed says so at once; the response confirms it.
    const local = addLocalFeed("approved", `${typeLabel} approved by you, sending it now…`);
    state.pending.delete(id);
    renderSuggestions();
    refocus();
    try {
      const result = await api(`/decisions/${enc(id)}/approve`, { method: "POST" });
      const iv = result && result.intervention;
      local.text = `${typeLabel} approved by you and executed`;
      if (iv) addIntervention(iv);
      notify(`${typeLabel} approved and sent for ${sessionName(state.sessions.get(d.session_id), d.session_id)}.`, "ok");
      afterSteer(d.session_id);
    } catch (error) {
      removeLocalFeed(local);
      if (error.status === 404) {
        notify(`That ${typeLabel.toLowerCase()} suggestion was no longer waiting (it expired or was answered elsewhere).`, "info");
      } else if (error.status !== 401) {
        notify(`Could not approve the ${typeLabel.toLowerCase()}: ${error.message}`, "error");
        state.pending = new Map([[id, d], ...state.pending]);
      }
      renderSuggestions();
    } finally {
      state.busy.delete(id);
      renderFeed();
    }
  }

  async function dismiss(d, reason) {
    const id = d.decision_id;
    if (state.busy.has(id)) return;
    state.busy.add(id);
    const typeLabel = label(TYPE_LABEL, d.type);
    const refocus = keepPlaceAfter(id);
    setCardBusy(id, "Dismissing…");
    const local = addLocalFeed("dismissed", `${typeLabel} dismissed by you${reason ? `: ${reason}` : ""}`);
    state.pending.delete(id);
    renderSuggestions();
    refocus();
    try {
      await api(`/decisions/${enc(id)}/dismiss`, { method: "POST", body: { reason: reason || null } });
      notify(`${typeLabel} dismissed${reason ? ` (${reason})` : ""}.`, "ok");
      afterSteer(d.session_id);
    } catch (error) {
      removeLocalFeed(local);
      if (error.status === 404) {
        notify(`That ${typeLabel.toLowerCase()} suggestion was no longer waiting.`, "info");
      } else if (error.status !== 401) {
        notify(`Could not dismiss the ${typeLabel.toLowerCase()}: ${error.message}`, "error");
        state.pending = new Map([[id, d], ...state.pending]);
      }
      renderSuggestions();
    } finally {
      state.busy.delete(id);
      renderFeed();
    }
  }

  function afterSteer(sessionId) {
    if (state.route && state.route.view === "session" && state.route.id === sessionId) {
      soon("detail", loadDetail, 200);
      soon("history", loadSessionHistory, 300);
    } else {
      soon("overview", loadOverview, 200);
      soon("event-history", loadEventOutcomes, 300);
    }
  }

  // ---------------------------------------------------------------- outcomes and export

  function outcomeCell(iv) {
    const o = iv.outcome;
    if (!o) return h("span", { class: "result result-wait" }, h("span", { "aria-hidden": "true" }, "… "), "Measuring");
    return o.success
      ? h("span", { class: "result result-ok" }, h("span", { "aria-hidden": "true" }, "✓ "), "Worked")
      : h("span", { class: "result result-bad" }, h("span", { "aria-hidden": "true" }, "✗ "), "Did not help");
  }

  function liftCell(lift) {
    if (!isNum(lift)) return "—";
    const icon = lift > 0.005 ? "▲" : lift < -0.005 ? "▼" : "▶";
    return h("span", { class: lift > 0.005 ? "up" : lift < -0.005 ? "down" : "" },
      h("span", { "aria-hidden": "true" }, `${icon} `), fmtSigned(lift));
  }

  function historyTable(interventions, { withSession }) {
    if (!interventions.length) return h("p", { class: "muted" }, "No interventions yet.");
    return h("div", { class: "table-wrap" }, h("table", { class: "history" },
      h("thead", null, h("tr", null,
        h("th", { scope: "col" }, "Time"),
        withSession ? h("th", { scope: "col" }, "Session") : null,
        h("th", { scope: "col" }, "Type"),
        h("th", { scope: "col" }, "How"),
        h("th", { scope: "col", class: "num" }, "Before"),
        h("th", { scope: "col", class: "num" }, "After"),
        h("th", { scope: "col", class: "num" }, "Expected"),
        h("th", { scope: "col", class: "num" }, "Lift"),
        h("th", { scope: "col" }, "Result"))),
      h("tbody", null, interventions.map((iv) => {
        const o = iv.outcome || {};
        return h("tr", { "data-intervention": iv.intervention_id },
          h("td", null, fmtTime(iv.timestamp)),
          withSession ? h("td", null, h("a", { href: `#/session/${enc(iv.session_id)}`, "data-key": `hist:${iv.intervention_id}` },
            sessionName(state.sessions.get(iv.session_id), iv.session_id))) : null,
          h("td", null, label(TYPE_LABEL, iv.type)),
          h("td", null, label(ORIGIN_LABEL, iv.origin)),
          h("td", { class: "num" }, fmtScore(o.score_before)),
          h("td", { class: "num" }, fmtScore(o.score_after)),
          h("td", { class: "num" }, fmtScore(o.expected_after)),
          h("td", { class: "num" }, liftCell(o.lift)),
          h("td", null, outcomeCell(iv)));
      }))));
  }

  const CSV_COLUMNS = ["intervention_id", "session_id", "event_id", "timestamp", "type", "origin",
    "confidence", "priority", "expected_impact", "reason", "decision_id", "delivered",
    "delivery_error", "score_before", "score_after", "expected_after", "lift", "success",
    "measured_at", "content"];

  function csvCell(value) {
    if (value == null) return "";
    if (typeof value === "object") value = JSON.stringify(value);
    let text = String(value);
    // A spreadsheet must never run a cell as a formula.
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  function toCsv(interventions) {
    const rows = interventions.map((iv) => {
      const o = iv.outcome || {};
      const row = { ...iv, ...o };
      delete row.outcome;
      return CSV_COLUMNS.map((c) => csvCell(c === "content" ? iv.content : row[c])).join(",");
    });
    return [CSV_COLUMNS.join(","), ...rows].join("\r\n") + "\r\n";
  }

  function download(name, type, text) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function exportButtons(what, getItems) {
    const stamp = () => new Date().toISOString().replace(/[:.]/g, "-");
    return h("div", { class: "actions export" },
      h("button", { type: "button", class: "button subtle", "data-key": `csv:${what}`,
        "aria-label": `Export ${what} history as CSV`,
        onclick: () => download(`interventions-${what}-${stamp()}.csv`, "text/csv;charset=utf-8", toCsv(getItems())) },
        "⤓ CSV"),
      h("button", { type: "button", class: "button subtle", "data-key": `json:${what}`,
        "aria-label": `Export ${what} history as JSON`,
        onclick: () => download(`interventions-${what}-${stamp()}.json`, "application/json",
          JSON.stringify({ exported_at: new Date().toISOString(), interventions: getItems() }, null, 2)) },
        "⤓ JSON"));
  }

  function typeRates(byType) {
    const entries = Object.entries(byType || {});
    if (!entries.length) return h("p", { class: "muted" }, "Nothing measured yet: an intervention's outcome is measured a minute after it ran.");
    return h("div", { class: "table-wrap" }, h("table", { class: "rates" },
      h("thead", null, h("tr", null,
        h("th", { scope: "col" }, "Type"),
        h("th", { scope: "col", class: "num" }, "Ran"),
        h("th", { scope: "col", class: "num" }, "Measured"),
        h("th", { scope: "col" }, "Success rate"),
        h("th", { scope: "col", class: "num" }, "Mean lift"))),
      h("tbody", null, entries.map(([type, r]) => h("tr", { "data-type": type },
        h("th", { scope: "row" }, label(TYPE_LABEL, type)),
        h("td", { class: "num" }, fmtInt(r.count)),
        h("td", { class: "num" }, fmtInt(r.measured)),
        h("td", null, scoreBar(r.success_rate), ` ${fmtPct(r.success_rate)}`,
          isNum(r.successes) ? h("span", { class: "muted" }, ` (${r.successes} of ${r.measured})`) : null),
        h("td", { class: "num" }, liftCell(r.mean_lift)))))));
  }

  // ---------------------------------------------------------------- overview

  function showOverview(eventId) {
    if (eventId && state.events.some((e) => e.event_id === eventId)) state.eventId = eventId;
    fillEventPicker();
    state.pending = new Map();
    state.sessions = new Map();
    state.eventHistory = [];
    const event = currentEvent();
    const view = $("#view");
    if (!event) {
      fill(view, h("section", { class: "panel" },
        h("h1", { tabindex: "-1", id: "view-title" }, "No events to show"),
        h("p", null, "This token sees no events yet. Events appear here once the platform registers them.")));
      return;
    }
    document.title = `${event.name || event.event_id} · Engagement Conductor`;
    fill(view,
      h("div", { class: "view-head" },
        h("h1", { tabindex: "-1", id: "view-title" }, event.name || event.event_id),
        h("p", { class: "muted" }, `Event ${event.event_id} · default mode ${label(MODE_LABEL, event.mode)}`)),
      h("section", { class: "kpis", "aria-label": "Event at a glance", id: "kpis" }),
      h("div", { class: "overview-grid" },
        h("section", { class: "panel sessions-panel", "aria-labelledby": "sessions-title" },
          h("div", { class: "panel-head" },
            h("h2", { id: "sessions-title" }, "Live sessions"),
            h("p", { class: "muted", id: "sort-note", "aria-live": "polite" })),
          h("div", { class: "table-wrap" }, h("table", { class: "sessions", id: "sessions-table" },
            h("caption", { class: "visually-hidden" }, "Live sessions of the event; column headers with buttons sort the table."),
            h("thead", null, h("tr", { id: "sessions-head" })),
            h("tbody", { id: "sessions-body" }))),
          h("p", { class: "muted", id: "sessions-empty", hidden: true }, "No live sessions yet.")),
        h("section", { class: "panel approvals", "aria-labelledby": "approvals-title" },
          h("h2", { id: "approvals-title", tabindex: "-1" }, "Waiting for your approval ",
            h("span", { class: "count", id: "suggestions-count" }, "0")),
          h("p", { class: "muted", id: "suggestions-empty" }, "Nothing is waiting. Suggestions appear here as the agent makes them."),
          h("div", { class: "suggestion-list", id: "suggestions" }))),
      h("div", { class: "outcome-grid" },
        h("section", { class: "panel", "aria-labelledby": "rates-title" },
          h("h2", { id: "rates-title" }, "What worked, by type"),
          h("div", { id: "event-rates" })),
        h("section", { class: "panel", "aria-labelledby": "ehist-title" },
          h("div", { class: "panel-head" },
            h("h2", { id: "ehist-title" }, "Interventions (last 24 h)"),
            exportButtons("event", () => state.eventHistory)),
          h("div", { id: "event-history" }))));
    renderSortHead();
    focusTitle();
    loadOverview();
    loadEventOutcomes();
    live.open(`/events/${enc(event.event_id)}/live`, {
      engagement: onOverviewEngagement,
      anomaly: (a) => {
        const row = state.sessions.get(a.sessionId);
        const open = (row && row.open_alerts) || [];
        if (row && !open.some((x) => x.type === a.type && x.severity === a.severity)) {
          row.open_alerts = open.filter((x) => x.type !== a.type).concat([{ type: a.type, severity: a.severity }]);
          scheduleOverviewRender();
        }
        soon("overview", loadOverview, 800);
      },
      "agent.status": () => soon("overview", loadOverview, 600),
      "agent.decision": (d) => {
        onDecision(d);
        soon("overview", loadOverview, 600);
      },
      "agent.intervention.executed": (iv) => {
        if (iv && iv.decision_id) onDecision({ decision_id: iv.decision_id, status: "EXECUTED" });
        soon("overview", loadOverview, 600);
        soon("event-history", loadEventOutcomes, 800);
      },
      "agent.reward.measured": () => soon("event-history", loadEventOutcomes, 500),
      reopened: () => {
        loadOverview();
        loadEventOutcomes();
      },
    });
    every(REFRESH_MS, () => {
      loadOverview();
      loadEventOutcomes();
    });
  }

  function focusTitle() {
    const title = $("#view-title");
    if (title && $("#login").hidden) title.focus({ preventScroll: true });
  }

  function onOverviewEngagement(e) {
    const row = state.sessions.get(e.sessionId);
    if (!row) {
      soon("overview", loadOverview, 500);
      return;
    }
    row.score = e.score;
    row.sparkline = (row.sparkline || []).concat([e.score]).slice(-SPARK_POINTS);
    row.trend = trendOf(row.sparkline);
    row.updated_at = e.timestamp;
    if (e.signals && isNum(e.signals.connected)) row.connected = e.signals.connected;
    scheduleOverviewRender();
  }

  function scheduleOverviewRender() {
    soon("overview-render", renderOverview, 250);
  }

  async function loadOverview() {
    const eventId = state.eventId;
    if (!eventId) return;
    try {
      const [sessions, decisions] = await Promise.all([
        api(`/events/${enc(eventId)}/sessions`),
        api(`/decisions?event_id=${enc(eventId)}&status=PENDING`),
      ]);
      if (eventId !== state.eventId || !state.route || state.route.view !== "overview") return;
      state.sessions = new Map((sessions.sessions || []).map((x) => [x.session_id, x]));
      if (!state.thresholdKnown && state.sessions.size) learnThreshold(state.sessions.keys().next().value);
      setPending(decisions.decisions || []);
      renderOverview();
    } catch (error) {
      if (error.status !== 401) notify(`Could not refresh the sessions: ${error.message}`, "error");
    }
  }

  /** The low-engagement floor comes with a session's detail; the overview needs it too. */
  async function learnThreshold(sessionId) {
    state.thresholdKnown = true;
    try {
      const detail = await api(`/sessions/${enc(sessionId)}`);
      if (isNum(detail.threshold) && detail.threshold !== state.threshold) {
        state.threshold = detail.threshold;
        scheduleOverviewRender();
      }
    } catch (error) {
      state.thresholdKnown = false;
    }
  }

  async function loadEventOutcomes() {
    const eventId = state.eventId;
    if (!eventId) return;
    try {
      const [outcomes, history] = await Promise.all([
        api(`/events/${enc(eventId)}/outcomes`),
        api(`/interventions/history/event/${enc(eventId)}?hours=24&limit=500`),
      ]);
      if (eventId !== state.eventId || !state.route || state.route.view !== "overview") return;
      state.eventOutcomes = outcomes.by_type || {};
      state.eventHistory = history.interventions || [];
      fill($("#event-rates"), typeRates(state.eventOutcomes));
      fill($("#event-history"), historyTable(state.eventHistory, { withSession: true }));
    } catch (error) {
      if (error.status !== 401) notify(`Could not load the outcomes: ${error.message}`, "error");
    }
  }

  const SORTS = {
    score: { label: "Score", first: "asc", key: (x) => (isNum(x.score) ? x.score : Infinity) },
    name: { label: "Session", first: "asc", key: (x) => sessionName(x, x.session_id).toLowerCase() },
    alerts: {
      label: "Alerts", first: "desc",
      key: (x) => (x.open_alerts || []).reduce((sum, a) => sum + (SEVERITY[a.severity] ? SEVERITY[a.severity].rank : 1), 0),
    },
  };

  function sortedSessions() {
    const { key, dir } = state.sort;
    const by = SORTS[key].key;
    const sign = dir === "asc" ? 1 : -1;
    return Array.from(state.sessions.values()).sort((a, b) => {
      const x = by(a);
      const y = by(b);
      if (x < y) return -sign;
      if (x > y) return sign;
      return String(a.session_id).localeCompare(String(b.session_id));
    });
  }

  function sortButton(key) {
    const active = state.sort.key === key;
    const dir = active ? state.sort.dir : null;
    const arrow = dir === "asc" ? "↑" : dir === "desc" ? "↓" : "↕";
    const next = active ? (dir === "asc" ? "descending" : "ascending") : (SORTS[key].first === "asc" ? "ascending" : "descending");
    return h("button", { type: "button", class: "sort", "data-key": `sort:${key}`,
      "aria-label": `Sort by ${SORTS[key].label.toLowerCase()}, ${next}`,
      onclick: () => {
        state.sort = active
          ? { key, dir: dir === "asc" ? "desc" : "asc" }
          : { key, dir: SORTS[key].first };
        renderSortHead();
        renderOverview();
      } }, SORTS[key].label, h("span", { "aria-hidden": "true" }, ` ${arrow}`));
  }

  function renderSortHead() {
    const head = $("#sessions-head");
    if (!head) return;
    const sortable = (key, cls) => h("th", { scope: "col", class: cls,
      "aria-sort": state.sort.key === key ? (state.sort.dir === "asc" ? "ascending" : "descending") : "none" },
    sortButton(key));
    fill(head,
      sortable("name"),
      sortable("score", "num"),
      h("th", { scope: "col" }, "Trend"),
      h("th", { scope: "col" }, "Agent"),
      sortable("alerts"),
      h("th", { scope: "col", class: "num" }, "Waiting"));
    const { key, dir } = state.sort;
    const words = { score: dir === "asc" ? "worst score first" : "best score first",
      name: dir === "asc" ? "by name, A to Z" : "by name, Z to A",
      alerts: dir === "desc" ? "most alerts first" : "fewest alerts first" };
    $("#sort-note").textContent = `Sorted ${words[key]}.`;
  }

  function renderOverview() {
    const body = $("#sessions-body");
    if (!body) return;
    const threshold = state.threshold;
    const rows = sortedSessions();
    syncKeyed(body, rows, (x) => x.session_id, (x) => {
      const tr = h("tr", { "data-session": x.session_id });
      updateRow(tr, x, threshold);
      return tr;
    }, (tr, x) => updateRow(tr, x, threshold));
    $("#sessions-empty").hidden = rows.length > 0;
    renderKpis(rows, threshold);
  }

  function updateRow(tr, x, threshold) {
    const alerts = (x.open_alerts || []).slice().sort((a, b) =>
      (SEVERITY[b.severity] ? SEVERITY[b.severity].rank : 0) - (SEVERITY[a.severity] ? SEVERITY[a.severity].rank : 0));
    const name = sessionName(x, x.session_id);
    const waiting = waitingFor(x.session_id);
    fill(tr,
      h("th", { scope: "row" },
        h("a", { href: `#/session/${enc(x.session_id)}`, class: "session-link", "data-key": `open:${x.session_id}` }, name),
        name !== x.session_id ? h("span", { class: "id" }, x.session_id) : null,
        h("span", { class: "sub" }, `${fmtInt(x.connected)} connected`)),
      h("td", { class: "num score-cell", "data-score": isNum(x.score) ? x.score.toFixed(4) : "" },
        h("span", { class: ["score", isNum(x.score) && x.score < threshold && "score-low"] }, fmtScore(x.score),
          isNum(x.score) && x.score < threshold ? h("span", { class: "visually-hidden" }, " (below the floor)") : null),
        scoreBar(x.score, threshold)),
      h("td", { class: "trend-cell" }, sparkline(x.sparkline || [], threshold), trendBadge(x.trend)),
      h("td", null, statusBadge(x.status), h("span", { class: "sub" }, `Mode: ${label(MODE_LABEL, x.mode)}`)),
      h("td", { class: "alerts-cell" }, alerts.length
        ? h("ul", { class: "alerts" }, alerts.map((a) => h("li", null, severityBadge(a.severity, label(ANOMALY_LABEL, a.type)))))
        : h("span", { class: "muted" }, h("span", { "aria-hidden": "true" }, "✓ "), "None")),
      h("td", { class: "num" }, waiting
        ? h("a", { href: `#/session/${enc(x.session_id)}`, class: "pending-pill", "data-key": `waiting:${x.session_id}`,
          "aria-label": `${waiting} suggestions waiting for ${name}` }, String(waiting))
        : "0"));
  }

  function renderKpis(rows, threshold) {
    const box = $("#kpis");
    if (!box) return;
    const scored = rows.filter((x) => isNum(x.score));
    const mean = scored.length ? scored.reduce((a, x) => a + x.score, 0) / scored.length : null;
    const alerts = rows.flatMap((x) => x.open_alerts || []);
    const critical = alerts.filter((a) => a.severity === "CRITICAL").length;
    const low = scored.filter((x) => x.score < threshold).length;
    const waiting = state.pending.size;
    const tile = (name, value, note) => h("div", { class: "kpi" },
      h("p", { class: "kpi-name" }, name), h("p", { class: "kpi-value" }, value),
      note ? h("p", { class: "kpi-note" }, note) : null);
    fill(box,
      tile("Live sessions", String(rows.length), `${fmtInt(rows.reduce((a, x) => a + (x.connected || 0), 0))} people connected`),
      tile("Average score", fmtScore(mean), `${low} under the ${threshold.toFixed(2)} floor`),
      tile("Open alerts", String(alerts.length), critical ? `${critical} critical` : "none critical"),
      tile("Waiting for you", String(waiting), waiting ? "suggestions to approve or dismiss" : "nothing to answer"));
  }

  // ---------------------------------------------------------------- session view

  function showSession(id) {
    state.session = null;
    state.points = [];
    state.anomalies = [];
    state.interventions = [];
    state.localFeed = [];
    state.pending = new Map();
    const summary = state.sessions.get(id);
    const view = $("#view");
    fill(view,
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
        h("a", { href: state.eventId ? `#/event/${enc(state.eventId)}` : "#/", id: "back-link" }, "← All sessions")),
      h("div", { class: "session-head" },
        h("div", { class: "session-title" },
          h("h1", { tabindex: "-1", id: "view-title" }, sessionName(summary, id)),
          h("p", { class: "muted id", id: "view-subtitle" }, sessionName(summary, id) === id ? "" : id)),
        h("div", { class: "headline", id: "headline", "aria-live": "off" }),
        h("div", { class: "mode-box", id: "mode-box" })),
      h("section", { id: "banner", class: "banner", "aria-live": "polite", "aria-atomic": "true",
        "aria-label": "Alerts" }),
      h("div", { class: "session-grid" },
        h("div", { class: "col-main" },
          h("section", { class: "panel chart-panel", "aria-labelledby": "chart-title" },
            h("div", { class: "panel-head" }, h("h2", { id: "chart-title" }, "Engagement score"),
              h("p", { class: "muted legend-note" }, "Dashed line: low-engagement floor · ▼ anomaly (warning) · ✖ anomaly (critical) · ★ intervention")),
            h("div", { id: "score-chart", class: "chart", role: "img", "aria-label": "Engagement score over time" }),
            h("p", { id: "chart-fallback", class: "muted", hidden: true }, "The chart library did not load; the numbers below still update live.")),
          h("section", { class: "panel signals-panel", "aria-labelledby": "signals-title" },
            h("h2", { id: "signals-title" }, "Signals now"),
            h("div", { class: "signal-cards", id: "signals" })),
          h("section", { class: "panel components-panel", "aria-labelledby": "components-title" },
            h("h2", { id: "components-title" }, "Why the score is what it is"),
            h("div", { id: "components" })),
          h("section", { class: "panel outcomes-panel", "aria-labelledby": "outcomes-title" },
            h("div", { class: "panel-head" },
              h("h2", { id: "outcomes-title" }, "Interventions and outcomes"),
              exportButtons("session", () => state.interventions)),
            h("p", { id: "session-stats", class: "muted" }),
            h("div", { id: "session-history" }))),
        h("div", { class: "col-side" },
          h("section", { class: "panel approvals", "aria-labelledby": "approvals-title" },
            h("h2", { id: "approvals-title", tabindex: "-1" }, "Suggestions waiting ",
              h("span", { class: "count", id: "suggestions-count" }, "0")),
            h("p", { class: "muted", id: "suggestions-empty" }, "Nothing is waiting for you in this session."),
            h("div", { class: "suggestion-list", id: "suggestions" })),
          h("section", { class: "panel feed-panel", "aria-labelledby": "feed-title" },
            h("h2", { id: "feed-title" }, "Agent activity"),
            h("ol", { class: "feed", id: "feed", "aria-live": "polite", "aria-relevant": "additions",
              "aria-label": "Agent activity, newest first" })))));
    focusTitle();
    loadSession(id);
  }

  async function loadSession(id) {
    if (!(await loadDetail()) || !isRoute(id)) return;
    const detail = state.session;
    if (detail && detail.event_id && detail.event_id !== state.eventId &&
        state.events.some((e) => e.event_id === detail.event_id)) {
      state.eventId = detail.event_id;
      fillEventPicker();
      $("#back-link").setAttribute("href", `#/event/${enc(state.eventId)}`);
    }
    await Promise.all([loadPoints(id), loadSessionHistory(), loadSessionDecisions()]);
    if (!isRoute(id)) return;
    renderChart();
    live.open(`/sessions/${enc(id)}/live`, {
      engagement: (e) => {
        if (e.sessionId !== id) return;
        onSessionEngagement(e);
      },
      anomaly: (a) => {
        if (a.sessionId !== id) return;
        if (!state.anomalies.some((x) => x.id && x.id === a.id)) state.anomalies.unshift(a);
        state.anomalies.length = Math.min(state.anomalies.length, 200);
        const alerts = (state.session.open_alerts || []).filter((x) => x.type !== a.type);
        state.session.open_alerts = alerts.concat([{ type: a.type, severity: a.severity }]);
        addLocalFeed("saw", `${a.type} (${a.severity}): ${a.explanation || ""}`, a.timestamp);
        renderBanner();
        renderFeed();
        scheduleChart();
        soon("detail", loadDetail, 700);
      },
      "agent.status": (st) => {
        if (state.session) {
          if (st.status) state.session.status = st.status;
          if (st.mode && !state.modeBusy) state.session.mode = st.mode;
          renderHeadline();
          renderMode();
        }
        const ids = Array.isArray(st.pending) ? st.pending.slice().sort().join() : null;
        const known = Array.from(state.pending.keys()).sort().join();
        if (ids !== null && ids !== known) soon("decisions", loadSessionDecisions, 150);
        soon("detail", loadDetail, 700);
      },
      "agent.decision": (d) => {
        onDecision(d);
        soon("detail", loadDetail, 500);
      },
      "agent.intervention.executed": (iv) => {
        if (iv.decision_id) onDecision({ decision_id: iv.decision_id, status: "EXECUTED" });
        addIntervention(iv);
        soon("detail", loadDetail, 500);
        soon("history", loadSessionHistory, 600);
      },
      "agent.reward.measured": (r) => {
        const iv = state.interventions.find((x) => x.intervention_id === r.intervention_id);
        if (iv) {
          iv.outcome = { score_before: r.score_before, score_after: r.score_after,
            expected_after: r.expected_after, lift: r.lift, success: r.success, measured_at: null };
          renderHistory();
        }
        soon("detail", loadDetail, 500);
        soon("history", loadSessionHistory, 600);
      },
      reopened: () => {
        soon("detail", loadDetail, 0);
        loadSessionDecisions();
        loadSessionHistory();
      },
    });
    every(REFRESH_MS, () => {
      loadDetail();
      loadSessionDecisions();
    });
  }

  const isRoute = (id) => state.route && state.route.view === "session" && state.route.id === id;

  /** The session's detail; false when it could not be loaded (the page says why). */
  async function loadDetail() {
    const id = state.route && state.route.view === "session" ? state.route.id : null;
    if (!id) return false;
    const asked = performance.now();
    try {
      const detail = await api(`/sessions/${enc(id)}`);
      if (!isRoute(id)) return false;
      if (state.modeBusy && state.session) detail.mode = state.session.mode;
      state.session = detail;
      if (isNum(detail.threshold)) {
        state.threshold = detail.threshold;
        state.thresholdKnown = true;
      }
      state.localFeed = state.localFeed.filter((x) => x.created >= asked || x.keep);
      for (const a of detail.anomalies || []) {
        if (!state.anomalies.some((x) => x.id && x.id === a.id)) state.anomalies.push(a);
      }
      state.anomalies.sort((a, b) => String(b.timestamp).localeCompare(String(a.timestamp)));
      const title = $("#view-title");
      if (title) title.textContent = sessionName(detail, id);
      const subtitle = $("#view-subtitle");
      if (subtitle) subtitle.textContent = sessionName(detail, id) === id ? "" : id;
      document.title = `${sessionName(detail, id)} · Engagement Conductor`;
      renderHeadline();
      renderMode();
      renderBanner();
      renderSignals(detail.signals || {});
      renderComponents(detail.components || []);
      renderFeed();
      scheduleChart();
      return true;
    } catch (error) {
      if (!isRoute(id)) return false;
      if (error.status === 404 || error.status === 403) {
        fill($("#view"), h("section", { class: "panel" },
          h("h1", { tabindex: "-1", id: "view-title" }, "This session cannot be shown"),
          h("p", null, error.message),
          h("p", null, h("a", { href: "#/" }, "Back to the overview"))));
        live.close();
        stopTimers();
      } else if (error.status !== 401) {
        notify(`Could not refresh the session: ${error.message}`, "error");
      }
      return false;
    }
  }

  async function loadPoints(id) {
    try {
      const data = await api(`/sessions/${enc(id)}/engagement?limit=${CHART_POINTS}`);
      if (!isRoute(id)) return;
      const known = new Set(state.points.map((p) => p.ts));
      const merged = (data.points || []).filter((p) => !known.has(p.ts)).concat(state.points);
      merged.sort((a, b) => (toDate(a.ts) - toDate(b.ts)));
      state.points = merged.slice(-CHART_POINTS);
    } catch (error) {
      if (error.status !== 401) notify(`Could not load the score history: ${error.message}`, "error");
    }
  }

  async function loadSessionHistory() {
    const id = state.route && state.route.view === "session" ? state.route.id : null;
    if (!id) return;
    try {
      const [history, stats] = await Promise.all([
        api(`/interventions/history/${enc(id)}?limit=200`),
        api(`/interventions/stats/${enc(id)}`),
      ]);
      if (!isRoute(id)) return;
      const known = new Map(state.interventions.map((x) => [x.intervention_id, x]));
      // Storage may lag the live stream: never drop an outcome the stream already gave.
      const fresh = (history.interventions || []).map((x) => {
        const seen = known.get(x.intervention_id);
        return !x.outcome && seen && seen.outcome ? { ...x, outcome: seen.outcome } : x;
      });
      const ids = new Set(fresh.map((x) => x.intervention_id));
      // Keep the ones the stream or an approval just told us about until storage has them.
      state.interventions = state.interventions.filter((x) => !ids.has(x.intervention_id)).concat(fresh)
        .sort((a, b) => String(b.timestamp).localeCompare(String(a.timestamp)));
      const rate = isNum(stats.success_rate) ? fmtPct(stats.success_rate) : "—";
      $("#session-stats").textContent =
        `${fmtInt(stats.total_interventions)} interventions, ${fmtInt(stats.successful_interventions)} worked ` +
        `(success rate ${rate}); average confidence ${fmtPct(stats.avg_confidence)}.`;
      renderHistory();
      scheduleChart();
    } catch (error) {
      if (error.status !== 401) notify(`Could not load the interventions: ${error.message}`, "error");
    }
  }

  async function loadSessionDecisions() {
    const id = state.route && state.route.view === "session" ? state.route.id : null;
    if (!id) return;
    try {
      const data = await api(`/decisions?session_id=${enc(id)}&status=PENDING`);
      if (isRoute(id)) setPending(data.decisions || []);
    } catch (error) {
      if (error.status !== 401) notify(`Could not load the suggestions: ${error.message}`, "error");
    }
  }

  function addIntervention(iv) {
    if (!iv || !iv.intervention_id) return;
    if (!(state.route && state.route.view === "session" && state.route.id === iv.session_id)) return;
    const at = state.interventions.findIndex((x) => x.intervention_id === iv.intervention_id);
    if (at >= 0) state.interventions[at] = { ...state.interventions[at], ...iv, outcome: state.interventions[at].outcome || iv.outcome };
    else state.interventions.unshift(iv);
    renderHistory();
    scheduleChart();
  }

  function onSessionEngagement(e) {
    const detail = state.session;
    if (!detail) return;
    const sig = e.signals || {};
    detail.score = e.score;
    detail.updated_at = e.timestamp;
    detail.sparkline = (detail.sparkline || []).concat([e.score]).slice(-SPARK_POINTS);
    detail.trend = trendOf(detail.sparkline);
    const pick = (camel, snake, fallback) => (sig[camel] !== undefined ? sig[camel] : sig[snake] !== undefined ? sig[snake] : fallback);
    detail.connected = pick("connected", "connected", detail.connected);
    detail.signals = {
      connected: pick("connected", "connected", 0),
      active_users: pick("activeUsers", "active_users", 0),
      active_share: pick("activeShare", "active_share", null),
      chat_per_min: pick("chatPerMin", "chat_per_min", null),
      reactions_per_min: pick("reactionsPerMin", "reactions_per_min", null),
      votes_per_min: pick("votesPerMin", "votes_per_min", null),
      poll_participation: pick("pollParticipation", "poll_participation", null),
      leaves_per_min: pick("leavesPerMin", "leaves_per_min", null),
    };
    if (Array.isArray(sig.components)) detail.components = sig.components;
    if (!state.points.some((p) => p.ts === e.timestamp)) {
      state.points.push({ ts: e.timestamp, score: e.score });
      if (state.points.length > CHART_POINTS) state.points.shift();
    }
    soon("engagement-render", () => {
      renderHeadline();
      renderSignals(detail.signals);
      renderComponents(detail.components || []);
    }, 200);
    scheduleChart();
  }

  function renderHeadline() {
    const d = state.session;
    const box = $("#headline");
    if (!d || !box) return;
    const low = isNum(d.score) && isNum(d.threshold) && d.score < d.threshold;
    fill(box,
      h("div", { class: "big-score" },
        h("p", { class: "kpi-name" }, "Score"),
        h("p", { class: ["kpi-value", low && "score-low"], id: "session-score" }, fmtScore(d.score),
          low ? h("span", { class: "low-flag" }, " (below floor)") : null),
        h("p", { class: "kpi-note" }, trendBadge(d.trend), ` · updated ${fmtTime(d.updated_at)}`)),
      h("div", null,
        h("p", { class: "kpi-name" }, "Agent"),
        h("p", { class: "kpi-value small", id: "agent-status" }, statusBadge(d.status))));
  }

  function renderMode() {
    const d = state.session;
    const box = $("#mode-box");
    if (!d || !box) return;
    const event = currentEvent();
    const threshold = event && isNum(event.confidence_threshold) ? ` (at least ${fmtPct(event.confidence_threshold)} confident)` : "";
    fill(box,
      h("div", { class: "mode-switch", role: "group", "aria-labelledby": "mode-label", "aria-describedby": "mode-help" },
        h("span", { id: "mode-label", class: "kpi-name" }, "Agent mode"),
        h("div", { class: "segmented" }, ["MANUAL", "SEMI_AUTO", "AUTO"].map((mode) =>
          h("button", { type: "button", class: "segment", "data-mode": mode, "data-key": `mode:${mode}`,
            "aria-pressed": String(d.mode === mode), "aria-disabled": state.modeBusy ? "true" : null,
            onclick: () => setMode(mode) },
          d.mode === mode ? h("span", { "aria-hidden": "true" }, "● ") : null, MODE_LABEL[mode])))),
      h("p", { id: "mode-help", class: "muted" },
        (MODE_HELP[d.mode] || "") + (d.mode === "SEMI_AUTO" ? threshold : "")));
  }

  async function setMode(mode) {
    const d = state.session;
    if (!d || state.modeBusy || d.mode === mode) return;
    const before = d.mode;
    const id = d.session_id;
    d.mode = mode;
    state.modeBusy = true;
    renderMode();
    try {
      const result = await api(`/sessions/${enc(id)}/mode`, { method: "PUT", body: { mode } });
      if (isRoute(id)) {
        d.mode = result.mode || mode;
        addLocalFeed("mode", `Mode set to ${label(MODE_LABEL, d.mode)} by you`, null, true);
        notify(`Mode set to ${label(MODE_LABEL, d.mode)}.`, "ok");
      }
    } catch (error) {
      d.mode = before;
      if (error.status !== 401) notify(`Could not change the mode: ${error.message}`, "error");
    } finally {
      state.modeBusy = false;
      renderMode();
      renderFeed();
    }
  }

  function renderBanner() {
    const d = state.session;
    const box = $("#banner");
    if (!d || !box) return;
    const alerts = (d.open_alerts || []).slice().sort((a, b) =>
      (SEVERITY[b.severity] ? SEVERITY[b.severity].rank : 0) - (SEVERITY[a.severity] ? SEVERITY[a.severity].rank : 0));
    const key = alerts.map((a) => `${a.type}:${a.severity}`).join("|");
    if (box.getAttribute("data-alerts") === key && box.childElementCount) return;
    box.setAttribute("data-alerts", key);
    const worst = alerts.length ? alerts[0].severity : "NONE";
    box.setAttribute("data-severity", worst);
    if (!alerts.length) {
      fill(box, h("p", { class: "banner-calm" }, h("span", { "aria-hidden": "true" }, "✓ "), "No open alerts in this session."));
      return;
    }
    fill(box, h("ul", { class: "banner-list" }, alerts.map((a) => {
      const latest = state.anomalies.find((x) => x.type === a.type);
      const sev = SEVERITY[a.severity] || { icon: "•", label: String(a.severity) };
      return h("li", { class: ["banner-item", `sev-${String(a.severity).toLowerCase()}`], "data-severity": a.severity },
        h("span", { class: "banner-icon", "aria-hidden": "true" }, sev.icon),
        h("strong", null, `${sev.label.toUpperCase()}: ${label(ANOMALY_LABEL, a.type)}`),
        latest ? h("span", { class: "banner-since" }, `since ${fmtTime(latest.timestamp)}`) : null,
        latest && latest.explanation ? h("span", { class: "banner-text" }, latest.explanation) : null);
    })));
  }

  function renderSignals(sig) {
    const box = $("#signals");
    if (!box) return;
    const card = (name, value, note) => h("div", { class: "signal" },
      h("p", { class: "kpi-name" }, name), h("p", { class: "kpi-value" }, value),
      note ? h("p", { class: "kpi-note" }, note) : null);
    fill(box,
      card("Connected", fmtInt(sig.connected), isNum(sig.leaves_per_min) && sig.leaves_per_min > 0 ? `${fmtRate(sig.leaves_per_min)} leaving` : "people in the session"),
      card("Active share", fmtPct(sig.active_share), `${fmtInt(sig.active_users)} active`),
      card("Chat", fmtRate(sig.chat_per_min), "messages per minute"),
      card("Reactions", fmtRate(sig.reactions_per_min), "per minute"),
      card("Poll participation", isNum(sig.poll_participation) ? fmtPct(sig.poll_participation) : "No poll",
        isNum(sig.votes_per_min) && sig.votes_per_min > 0 ? `${fmtRate(sig.votes_per_min)} votes` : "of the room voted"));
  }

  function renderComponents(components) {
    const box = $("#components");
    if (!box) return;
    if (!components.length) {
      fill(box, h("p", { class: "muted" }, "No score yet."));
      return;
    }
    fill(box, h("div", { class: "table-wrap" }, h("table", { class: "components" },
      h("thead", null, h("tr", null,
        h("th", { scope: "col" }, "Component"),
        h("th", { scope: "col" }, "Value"),
        h("th", { scope: "col", class: "num" }, "Weight"),
        h("th", { scope: "col", class: "num" }, "Contribution"))),
      h("tbody", null, components.map((c) => h("tr", null,
        h("th", { scope: "row" }, String(c.name)),
        h("td", null, scoreBar(c.value), ` ${fmtScore(c.value)}`),
        h("td", { class: "num" }, fmtScore(c.weight)),
        h("td", { class: "num" }, liftCell(c.contribution))))))));
  }

  function addLocalFeed(kind, text, ts, keep = false) {
    const item = { kind, text, ts: ts || null, created: performance.now(), local: true, keep };
    state.localFeed.unshift(item);
    renderFeed();
    return item;
  }

  function removeLocalFeed(item) {
    state.localFeed = state.localFeed.filter((x) => x !== item);
  }

  function renderFeed() {
    const list = $("#feed");
    if (!list) return;
    const server = (state.session && state.session.activity) || [];
    const items = state.localFeed.concat(server).slice(0, 100);
    if (!items.length) {
      fill(list, h("li", { class: "muted" }, "Nothing yet: the agent writes here what it sees, decides, does and measures."));
      return;
    }
    fill(list, items.map((x) => {
      const [icon, word] = FEED_KIND[x.kind] || ["•", String(x.kind || "")];
      return h("li", { class: ["feed-item", `feed-${String(x.kind)}`], "data-kind": x.kind },
        h("p", { class: "feed-line" },
          h("span", { class: "feed-kind" }, h("span", { "aria-hidden": "true" }, `${icon} `), word),
          h("time", { class: "feed-time", datetime: x.ts || "" }, x.ts ? fmtTime(x.ts) : "just now")),
        h("p", { class: "feed-text" }, String(x.text || "")));
    }));
  }

  function renderHistory() {
    fill($("#session-history"), historyTable(state.interventions, { withSession: false }));
  }

  // ---------------------------------------------------------------- the chart

  function scheduleChart() {
    soon("chart", renderChart, 300);
  }

  function scoreAt(date) {
    const t = date.getTime();
    let best = null;
    for (const p of state.points) {
      const pt = toDate(p.ts);
      if (!pt) continue;
      if (best === null || Math.abs(pt.getTime() - t) < Math.abs(best.t - t)) best = { t: pt.getTime(), score: p.score };
    }
    return best ? best.score : null;
  }

  function cssVar(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function renderChart() {
    const box = $("#score-chart");
    const d = state.session;
    if (!box || !d) return;
    if (!window.Plotly) {
      $("#chart-fallback").hidden = false;
      return;
    }
    const xs = state.points.map((p) => plotTime(p.ts));
    const ys = state.points.map((p) => p.score);
    const threshold = isNum(d.threshold) ? d.threshold : 0.25;
    const ink = cssVar("--ink", "#1b2430");
    const grid = cssVar("--grid", "#d9dee5");
    const markerOf = (items, dateOf, textOf) => {
      const x = [];
      const y = [];
      const text = [];
      for (const item of items) {
        const at = toDate(dateOf(item));
        if (!at) continue;
        const score = scoreAt(at);
        x.push(plotTime(at));
        y.push(isNum(score) ? score : threshold);
        text.push(plotText(textOf(item)));
      }
      return { x, y, text };
    };
    const warn = markerOf(state.anomalies.filter((a) => a.severity !== "CRITICAL"), (a) => a.timestamp,
      (a) => `WARNING: ${label(ANOMALY_LABEL, a.type)}`);
    const crit = markerOf(state.anomalies.filter((a) => a.severity === "CRITICAL"), (a) => a.timestamp,
      (a) => `CRITICAL: ${label(ANOMALY_LABEL, a.type)}`);
    const ivs = markerOf(state.interventions, (iv) => iv.timestamp, (iv) =>
      `${label(TYPE_LABEL, iv.type)} (${label(ORIGIN_LABEL, iv.origin)})` +
      (iv.outcome ? `, lift ${fmtSigned(iv.outcome.lift)}` : ", measuring"));
    const first = xs.length ? xs[0] : null;
    const last = xs.length ? xs[xs.length - 1] : null;
    const traces = [
      { name: "Engagement score", x: xs, y: ys, type: "scatter", mode: "lines",
        line: { color: cssVar("--accent", "#2457c5"), width: 2 }, hovertemplate: "%{y:.2f}<extra>score</extra>" },
      { name: `Low-engagement floor (${threshold.toFixed(2)})`, x: [first, last], y: [threshold, threshold],
        type: "scatter", mode: "lines", line: { color: cssVar("--critical", "#b3261e"), dash: "dash", width: 1.5 },
        hoverinfo: "skip" },
      { name: "Anomaly (warning)", x: warn.x, y: warn.y, text: warn.text, type: "scatter", mode: "markers",
        marker: { symbol: "triangle-down", size: 12, color: cssVar("--warning", "#a15c00"), line: { width: 1, color: ink } },
        hovertemplate: "%{text}<extra></extra>" },
      { name: "Anomaly (critical)", x: crit.x, y: crit.y, text: crit.text, type: "scatter", mode: "markers",
        marker: { symbol: "x", size: 12, color: cssVar("--critical", "#b3261e"), line: { width: 1, color: ink } },
        hovertemplate: "%{text}<extra></extra>" },
      { name: "Intervention", x: ivs.x, y: ivs.y, text: ivs.text, type: "scatter", mode: "markers",
        marker: { symbol: "star", size: 16, color: cssVar("--intervention", "#6a3fb5"), line: { width: 1, color: ink } },
        hovertemplate: "%{text}<extra></extra>" },
    ];
    const layout = {
      margin: { l: 44, r: 12, t: 8, b: 36 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: ink, size: 12 },
      xaxis: { type: "date", gridcolor: grid, title: { text: "" } },
      yaxis: { range: [0, 1.02], gridcolor: grid, title: { text: "score" }, fixedrange: true },
      legend: { orientation: "h", y: -0.18 },
      showlegend: true,
      hovermode: "closest",
      uirevision: d.session_id,
    };
    window.Plotly.react(box, traces, layout, { responsive: true, displaylogo: false,
      modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"] });
    box.setAttribute("aria-label",
      `Engagement score over time: latest ${fmtScore(d.score)}, floor ${threshold.toFixed(2)}, ` +
      `${warn.x.length} warning and ${crit.x.length} critical anomalies, ${ivs.x.length} interventions.`);
    box.setAttribute("data-interventions", String(ivs.x.length));
    box.setAttribute("data-anomalies", String(warn.x.length + crit.x.length));
  }

  // ---------------------------------------------------------------- boot

  function boot() {
    setupLogin();
    $("#event-select").addEventListener("change", (event) => {
      location.hash = `#/event/${enc(event.target.value)}`;
    });
    window.addEventListener("hashchange", onRoute);
    start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();

// agentzoo view: the run page's effects, scopes and live updates.
//
// Every value from the journal is written with textContent (or as an <img> src that the server
// checked is a data:image URL): nothing a model or tool wrote is ever parsed as HTML.
"use strict";

(function () {
  const root = document.getElementById("run");
  if (!root) return;
  const JOURNAL = root.dataset.journal;
  const RUN = root.dataset.run;
  const POLL_MS = 1000;
  const list = document.getElementById("entries");
  const moreButton = document.getElementById("more");
  const liveNote = document.getElementById("live");
  const shown = new Map(); // "scope\u0000seq" -> {id, status, li}
  let cursor = 0;
  let status = root.dataset.status;
  let scopeFilter = null;
  let loading = false;
  let hasMore = true;
  let firstShown = false;

  // --- small DOM helpers (text only) ---------------------------------------------------------
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent, ...children) {
    for (const c of children) if (c) parent.appendChild(c);
    return parent;
  }
  function pretty(value) {
    if (typeof value === "string") {
      try { return JSON.stringify(JSON.parse(value), null, 2); } catch (e) { return value; }
    }
    return JSON.stringify(value, null, 2);
  }
  function int(n) { return (n || 0).toLocaleString("en-US"); }
  function usd(x, unpriced) {
    if (unpriced && !x) return "unpriced";
    if (!x) return "$0";
    const s = x >= 1 ? "$" + x.toFixed(2) : "$" + x.toPrecision(3);
    return unpriced ? s + " †" : s;
  }
  function seconds(s) {
    if (s === null || s === undefined || isNaN(s)) return "—";
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 120) return s.toFixed(1) + " s";
    return (s / 60).toFixed(1) + " min";
  }
  function api(path, params) {
    return fetch(path + "?" + new URLSearchParams(params), {cache: "no-store"}).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
        return body;
      });
    });
  }
  function block(label, text, cls) {
    const d = el("div", "block " + (cls || ""));
    add(d, el("div", "label", label), el("pre", "text", text));
    return d;
  }

  // --- one entry -----------------------------------------------------------------------------
  function contentText(content) {
    if (content === null || content === undefined) return "";
    if (typeof content === "string") return content;
    if (Array.isArray(content)) {
      return content.map(function (part) {
        if (part && typeof part === "object" && typeof part.text === "string") return part.text;
        return pretty(part);
      }).join("\n");
    }
    return pretty(content);
  }
  function toolCalls(calls) {
    const d = el("div", "tool-calls");
    for (const call of calls || []) {
      const fn = (call && call.function) || {};
      const c = el("div", "tool-call");
      add(c, el("span", "tool-name", "→ " + (fn.name || "?")), el("pre", "text args", pretty(fn.arguments || "")));
      d.appendChild(c);
    }
    return d;
  }
  function message(m) {
    const d = el("div", "message role-" + String((m && m.role) || "unknown").replace(/[^a-z]/g, ""));
    add(d, el("div", "role", (m && m.role) || "?"));
    if (m && m.content !== null && m.content !== undefined && m.content !== "") d.appendChild(el("pre", "text", contentText(m.content)));
    if (m && m.tool_calls) d.appendChild(toolCalls(m.tool_calls));
    if (m && m.tool_call_id) d.appendChild(el("div", "sub", "answers " + m.tool_call_id));
    return d;
  }
  function modelBody(e) {
    const body = el("div", "body");
    const req = e.request || {};
    const messages = Array.isArray(req.messages) ? req.messages : [];
    const details = el("details", "request");
    let summary = "request: " + messages.length + " message" + (messages.length === 1 ? "" : "s");
    if (e.skipped_messages) summary += " (and " + e.skipped_messages + " earlier ones, as in this scope's previous call)";
    if (Array.isArray(req.tools) && req.tools.length) summary += " · " + req.tools.length + " tools";
    add(details, el("summary", null, summary));
    for (const m of messages) details.appendChild(message(m));
    body.appendChild(details);
    const res = e.result || {};
    if (res.message) {
      const reply = message(res.message);
      reply.classList.add("reply");
      body.appendChild(reply);
    }
    if (res.format_error) body.appendChild(block("format error (sent back to the model)", res.format_error, "error-text"));
    if (res.finish_reason) body.appendChild(el("div", "sub", "finish reason: " + res.finish_reason));
    return body;
  }
  function toolBody(e) {
    const body = el("div", "body");
    const req = e.request || {};
    body.appendChild(block("arguments", pretty(req.arguments !== undefined ? req.arguments : req)));
    const res = e.result;
    if (res && typeof res === "object" && "content" in res) {
      body.appendChild(block(res.is_error ? "error" : "result", contentText(res.content), res.is_error ? "error-text" : ""));
    } else if (res !== null && res !== undefined) {
      body.appendChild(block("result", pretty(res)));
    }
    return body;
  }
  function sandboxBody(e) {
    const body = el("div", "body");
    const req = e.request || {};
    if (typeof req.code === "string") body.appendChild(block("code", req.code, "code"));
    const res = e.result || {};
    if (res.stdout) body.appendChild(block("stdout", res.stdout, "stdout"));
    if (res.stderr) body.appendChild(block("stderr", res.stderr, "stderr"));
    if (res.error && typeof res.error === "object") {
      const text = (res.error.type || "Error") + ": " + (res.error.message || "") + (res.error.traceback ? "\n\n" + res.error.traceback : "");
      body.appendChild(block("raised", text, "error-text"));
    }
    if (res.answered) body.appendChild(block("final_answer", pretty(res.answer)));
    for (const note of res.notes || []) body.appendChild(el("div", "sub", note));
    if (res.tier) body.appendChild(el("div", "sub", "tier " + res.tier + (res.duration_s !== undefined ? " · " + seconds(res.duration_s) : "")));
    return body;
  }
  function genericBody(e) {
    const body = el("div", "body");
    const res = e.result;
    if (res && typeof res === "object" && res.observation !== undefined) body.appendChild(block("observation", contentText(res.observation)));
    body.appendChild(block("request", pretty(e.request)));
    if (res !== null && res !== undefined) body.appendChild(block("result", pretty(res)));
    return body;
  }
  function entryItem(e) {
    const li = el("li", "entry kind-" + String(e.kind).replace(/[^a-z]/g, "") + " status-" + String(e.status).replace(/[^a-z]/g, ""));
    li.dataset.scope = e.scope;
    li.dataset.seq = String(e.seq);
    const head = el("div", "head");
    const raw = el("a", "raw", "raw");
    raw.href = "/api/entry?" + new URLSearchParams({j: JOURNAL, id: RUN, scope: e.scope, seq: String(e.seq)});
    raw.target = "_blank";
    raw.rel = "noopener";
    const bits = [];
    if (e.kind === "model") bits.push(int(e.usage.input_tokens) + "→" + int(e.usage.output_tokens) + " tok", e.cost_usd === null ? "unpriced" : usd(e.cost_usd));
    bits.push(seconds(e.ended_at - e.started_at));
    add(head, el("span", "scope", e.scope || "(root)"), el("span", "seq", "#" + e.seq), el("span", "kind", e.kind),
        el("span", "name", e.name), el("span", "estatus", e.status), el("span", "meta", bits.join(" · ")), raw);
    li.appendChild(head);
    let body;
    if (e.kind === "model") body = modelBody(e);
    else if (e.kind === "tool") body = toolBody(e);
    else if (e.kind === "sandbox") body = sandboxBody(e);
    else body = genericBody(e);
    if (e.error) body.appendChild(block("failed", (e.error.type || "Error") + ": " + (e.error.message || ""), "error-text"));
    e.images.forEach(function (src, i) {
      if (typeof src !== "string" || src.indexOf("data:image/") !== 0) return;
      const fig = el("figure", "shot");
      const img = document.createElement("img");
      img.src = src;
      img.alt = "image " + (i + 1) + " of this effect";
      add(fig, img, el("figcaption", null, "[image " + (i + 1) + "]"));
      body.appendChild(fig);
    });
    li.appendChild(body);
    return li;
  }
  function show(entries) {
    for (const e of entries) {
      const key = e.scope + "\u0000" + e.seq;
      const li = entryItem(e);
      const old = shown.get(key);
      if (old) list.replaceChild(li, old.li);
      else list.appendChild(li);
      shown.set(key, {id: e.id, status: e.status, li: li});
    }
    if (!firstShown && entries.length) {
      firstShown = true;
      performance.mark("agentzoo:entries");
      document.body.dataset.entriesShown = "1";
    }
  }

  // --- loading -------------------------------------------------------------------------------
  function rewindPoint() {
    // An entry written as `started` is completed in place later (same row id): ask again from it.
    let low = cursor;
    for (const v of shown.values()) if (v.status === "started" && v.id - 1 < low) low = v.id - 1;
    return low;
  }
  function loadEntries() {
    if (loading) return Promise.resolve();
    loading = true;
    const params = {j: JOURNAL, id: RUN, after: String(rewindPoint()), limit: "100"};
    if (scopeFilter !== null) params.scope = scopeFilter;
    return api("/api/entries", params).then(function (page) {
      show(page.entries);
      if (page.cursor !== null && page.cursor > cursor) cursor = page.cursor;
      hasMore = page.more;
      moreButton.hidden = !hasMore;
      const problems = document.getElementById("problems");
      if (page.problems.length) problems.textContent = page.problems.join("\n");
    }).catch(function (err) {
      document.getElementById("problems").textContent = "could not load effects: " + err.message;
    }).finally(function () { loading = false; });
  }
  function setText(id, text) {
    const node = document.getElementById(id);
    if (node) node.textContent = text;
  }
  function renderRun(run) {
    status = run.status;
    root.dataset.status = status;
    const badge = document.getElementById("run-status");
    badge.textContent = status;
    badge.className = "status status-" + String(status).replace(/[^a-z]/g, "");
    setText("answer", run.answer === null ? "" : run.answer);
    setText("run-error", run.error ? (run.error.type || "Error") + ": " + (run.error.message || "") : "");
    const t = run.totals;
    const end = status === "running" ? run.now : run.updated_at;
    setText("totals", int(t.effects) + " effects · " + int(t.model_calls) + " model calls · " + int(t.tool_calls) +
      " tool calls · " + int(t.input_tokens) + "→" + int(t.output_tokens) + " tokens · " + usd(t.cost_usd, t.unpriced_calls) +
      " · " + seconds(end - run.created_at));
    renderScopes(run.scopes, run.created_at, end);
    renderBudgets(run.budgets);
  }
  function renderScopes(scopes, start, end) {
    const timeline = document.getElementById("timeline");
    const tbody = document.querySelector("#scopes tbody");
    timeline.replaceChildren();
    tbody.replaceChildren();
    const span = Math.max(end - start, 1e-6);
    const all = el("button", "scope-all" + (scopeFilter === null ? " active" : ""), "all scopes");
    all.type = "button";
    all.addEventListener("click", function () { filterScope(null); });
    timeline.appendChild(all);
    for (const s of scopes) {
      const row = el("div", "tl-row" + (scopeFilter === s.scope ? " active" : ""));
      row.dataset.scope = s.scope;
      const label = el("button", "tl-label", s.label);
      label.type = "button";
      label.title = s.scope || "(root)";
      label.style.paddingLeft = (0.3 + s.depth * 1.1) + "em";
      label.addEventListener("click", function () { filterScope(s.scope); });
      const track = el("div", "tl-track");
      const bar = el("div", "tl-bar");
      if (s.subtree.effects) {
        bar.style.left = (100 * Math.max(0, s.start - start) / span) + "%";
        bar.style.width = Math.max(0.4, 100 * Math.max(0, s.end - s.start) / span) + "%";
        bar.title = seconds(s.end - s.start) + " · " + int(s.subtree.effects) + " effects";
      } else {
        bar.hidden = true;
      }
      track.appendChild(bar);
      add(row, label, track, el("span", "tl-dur", s.subtree.effects ? seconds(s.end - s.start) : ""));
      timeline.appendChild(row);
      const tr = el("tr");
      const name = el("td", "mono", s.scope || "(root)");
      name.style.paddingLeft = (0.3 + s.depth * 1.1) + "em";
      add(tr, name, el("td", "num", int(s.effects)), el("td", "num", int(s.model_calls)), el("td", "num", int(s.tool_calls)),
          el("td", "num", int(s.input_tokens)), el("td", "num", int(s.output_tokens)),
          el("td", "num", s.model_calls ? usd(s.cost_usd, s.unpriced_calls) : ""),
          el("td", "num", s.subtree.effects ? seconds(s.end - s.start) : ""));
      tbody.appendChild(tr);
    }
  }
  function renderBudgets(budgets) {
    const section = document.getElementById("budgets-section");
    section.hidden = !budgets.length;
    const tbody = document.querySelector("#budgets tbody");
    tbody.replaceChildren();
    for (const b of budgets) {
      const used = b.what === "usd" ? usd(b.used) : b.what === "wall_seconds" ? seconds(b.used) : int(b.used);
      const limit = b.what === "usd" ? usd(b.limit) : b.what === "wall_seconds" ? seconds(b.limit) : int(b.limit);
      const tr = el("tr");
      const meter = document.createElement("meter");
      meter.min = 0; meter.max = 1; meter.value = Math.min(1, b.fraction || 0);
      add(tr, el("th", null, (b.scope || "run") + " · " + b.what.replace("_", " ")), el("td", "num", used + " of " + limit),
          el("td", null, b.fraction === null ? "" : Math.round(100 * b.fraction) + "%"), add(el("td"), meter));
      tbody.appendChild(tr);
    }
  }
  function filterScope(scope) {
    scopeFilter = scope;
    shown.clear();
    list.replaceChildren();
    cursor = 0;
    setText("entries-scope", scope === null ? "" : "of " + (scope || "(root)") + " and the scopes below it");
    for (const row of document.querySelectorAll(".tl-row")) row.classList.toggle("active", row.dataset.scope === scope);
    loadEntries();
  }
  function refreshRun() {
    return api("/api/run", {j: JOURNAL, id: RUN}).then(renderRun);
  }
  function poll() {
    const wasRunning = status === "running";
    refreshRun().then(function () {
      // A run that just ended gets one last round of entries; a running one keeps polling.
      return (wasRunning || hasMore) ? loadEntries() : null;
    }).catch(function () { /* the server may be restarting: try again on the next tick */ })
      .finally(function () {
        liveNote.hidden = status !== "running";
        if (status === "running") setTimeout(poll, POLL_MS);
      });
  }

  moreButton.addEventListener("click", loadEntries);
  refreshRun().catch(function (err) { setText("problems", "could not load the run: " + err.message); });
  loadEntries().then(function () {
    if (status === "running") {
      liveNote.hidden = false;
      setTimeout(poll, POLL_MS);
    }
  });
})();

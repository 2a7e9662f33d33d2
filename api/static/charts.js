/* Admin analytics: handoffs over time, trigger mix, time to accept, outcomes and CSAT as inline SVG. */
"use strict";

const BatonCharts = (() => {
  const { el, api } = Baton;
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#2f5bd3", "#1d7a46", "#a45b00", "#b42318", "#7a3fb8", "#0f7c8c", "#5b6475"];
  const WINDOWS = { hour: [12, 5 * 60e3], day: [24, 3600e3], week: [7, 86400e3] };

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function nice(max) {
    if (max <= 0) return 1;
    const p = 10 ** Math.floor(Math.log10(max));
    return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max);
  }

  /** Vertical bars, one group per label, stacked series. */
  function bars(title, labels, series, { unit = "" } = {}) {
    const W = 420, H = 200, L = 34, B = 26, T = 10;
    const totals = labels.map((_, i) => series.reduce((s, ser) => s + (ser.values[i] || 0), 0));
    const top = nice(Math.max(0, ...totals));
    const bw = (W - L - 6) / Math.max(1, labels.length);
    const y = (v) => H - B - (v / top) * (H - B - T);
    const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
    for (const tick of [0, top / 2, top]) {
      g.append(svg("line", { x1: L, x2: W, y1: y(tick), y2: y(tick), stroke: "#dde1e8" }));
      g.append(svg("text", { x: L - 4, y: y(tick) + 4, "text-anchor": "end" }, `${+tick.toFixed(1)}${unit}`));
    }
    const step = Math.ceil(labels.length / 8);
    labels.forEach((label, i) => {
      let base = 0;
      series.forEach((ser, s) => {
        const v = ser.values[i] || 0;
        if (v > 0) {
          const rect = svg("rect", { x: L + i * bw + bw * 0.15, width: bw * 0.7, y: y(base + v), height: y(base) - y(base + v), fill: ser.color || COLORS[s], rx: 2 });
          rect.append(svg("title", {}, `${label}: ${ser.name} ${v}${unit}`));
          g.append(rect);
        }
        base += v;
      });
      if (i % step === 0) g.append(svg("text", { x: L + i * bw + bw / 2, y: H - 8, "text-anchor": "middle" }, label));
    });
    return g;
  }

  /** Horizontal bars for a name -> count mapping. */
  function hbars(title, entries, { unit = "" } = {}) {
    const rows = entries.length || 1;
    const W = 420, R = 26, H = rows * R + 10, L = 140;
    const max = Math.max(1, ...entries.map(([, v]) => v || 0));
    const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
    if (!entries.length) g.append(svg("text", { x: 8, y: 22 }, "No data in this window."));
    entries.forEach(([name, v], i) => {
      const w = ((v || 0) / max) * (W - L - 60);
      g.append(svg("text", { x: L - 6, y: i * R + 22, "text-anchor": "end" }, name));
      g.append(svg("rect", { x: L, y: i * R + 8, width: Math.max(1, w), height: R - 10, fill: COLORS[i % COLORS.length], rx: 2 }));
      g.append(svg("text", { x: L + w + 6, y: i * R + 22 }, v === null || v === undefined ? "—" : `${v}${unit}`));
    });
    return g;
  }

  // A chart's viewBox is scaled to its card; its text is sized in viewBox units so that it is at least
  // MIN_PX on screen however narrow the card is.
  const MIN_PX = 12.5;
  const fit = new ResizeObserver((entries) => {
    for (const { target } of entries) {
      const scale = target.clientWidth / target.viewBox.baseVal.width;
      if (scale > 0) target.style.fontSize = `${Math.max(12, MIN_PX / scale).toFixed(2)}px`;
    }
  });

  function card(title, chart, note) {
    for (const node of [chart].flat()) if (node instanceof SVGSVGElement) fit.observe(node);
    return el("section", { class: "panel chart", "aria-label": title }, el("h2", {}, title), chart, note ? el("p", { class: "muted" }, note) : null);
  }

  function legend(series) {
    return el("div", { class: "row muted" }, ...series.map((s, i) => {
      const swatch = el("span", { "aria-hidden": "true" }, "■");
      swatch.style.color = s.color || COLORS[i];
      return el("span", {}, swatch, ` ${s.name}`);
    }));
  }

  function fmtTime(ms, span) {
    const d = new Date(ms);
    return span >= 86400e3 ? `${d.getMonth() + 1}/${d.getDate()}` : `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  }

  function registerForm(auth) {
    const out = el("div", { role: "status", "aria-live": "polite" });
    const form = el("form", { class: "row" },
      el("div", {}, el("label", { for: "c-reg-name" }, "Name"), el("input", { id: "c-reg-name", name: "name", required: true, placeholder: "Maria" })),
      el("div", {}, el("label", { for: "c-reg-id" }, "Agent ID"), el("input", { id: "c-reg-id", name: "id", placeholder: "agent-maria" })),
      el("div", {}, el("label", { for: "c-reg-skills" }, "Skills"), el("input", { id: "c-reg-skills", name: "skills", value: "real_estate, empathy" })),
      el("button", { type: "submit", class: "primary" }, "Register agent"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const d = Object.fromEntries(new FormData(form).entries());
      try {
        const made = await api("POST", "/v1/agents", auth.token, {
          // offline until they sign in and go online: an agent marked online now would miss offers
          name: d.name, id: d.id || null, skills: d.skills.split(",").map((s) => s.trim()).filter(Boolean), status: "offline",
        });
        out.replaceChildren(el("p", { class: "notice" }, `Agent ${made.agent_id} registered (offline until they sign in). Token (shown once): `, el("code", {}, made.agent_token)));
      } catch (err) { out.replaceChildren(el("p", { class: "error" }, err.message)); }
    });
    return el("section", { class: "panel", "aria-label": "Register an agent" }, el("h2", {}, "Register an agent"), form, out);
  }

  async function render(root, auth, windowName) {
    const name = windowName || root.dataset.window || "hour";
    root.dataset.window = name;
    const [count, size] = WINDOWS[name];
    const end = Date.now() + 1000;
    const start = end - count * size;
    const q = (a, b) => `/v1/analytics/handoffs?since=${encodeURIComponent(new Date(a).toISOString())}&until=${encodeURIComponent(new Date(b).toISOString())}`;
    const buckets = Array.from({ length: count }, (_, i) => [start + i * size, start + (i + 1) * size]);
    const [total, ...parts] = await Promise.all([q(start, end), ...buckets.map(([a, b]) => q(a, b))].map((p) => api("GET", p, auth.token)));
    const figures = typeof BatonAnalytics === "undefined" ? [] : await BatonAnalytics.sections(total, auth, start, end);
    const labels = buckets.map(([a]) => fmtTime(a, size * count));
    const over = [
      { name: "to a person", values: parts.map((p) => p.human_handoffs), color: COLORS[0] },
      { name: "between bots", values: parts.map((p) => p.bot_handoffs), color: COLORS[5] },
    ];
    const picker = el("div", { class: "row", role: "group", "aria-label": "Time window" },
      ...Object.keys(WINDOWS).map((w) => el("button", {
        type: "button", "aria-pressed": String(w === name), class: w === name ? "primary" : "",
        onclick: () => render(root, auth, w),
      }, `Last ${w}`)),
      el("button", { type: "button", onclick: () => render(root, auth, name) }, "Refresh"));
    const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)}%`);
    const tiles = el("div", { class: "tiles" },
      ...[["Conversations", total.conversations], ["Handoffs to a person", total.human_handoffs],
        ["Handoff rate", pct(total.handoff_rate)], ["Completion rate", pct(total.completion_rate)],
        ["Rollbacks to AI", total.rollbacks], ["CSAT", total.csat.average === null ? "—" : `${total.csat.average} / 5`]]
        .map(([k, v]) => el("div", { class: "tile" }, el("b", {}, v), k)));
    root.replaceChildren(
      el("section", { class: "panel", "aria-label": "Summary" }, picker, el("div", { class: "row" }, tiles)),
      card("Handoffs over time", [bars("Handoffs over time", labels, over), legend(over)]),
      card("Trigger mix", hbars("Human handoffs by trigger", Object.entries(total.trigger_mix).sort((a, b) => b[1] - a[1]))),
      card("Time to accept", hbars("Time to accept and to assign, seconds", [
        ["accept p50", total.time_to_accept_s.p50], ["accept p95", total.time_to_accept_s.p95],
        ["first offer p50", total.time_to_assign_s.p50], ["first offer p95", total.time_to_assign_s.p95],
      ], { unit: "s" }), `${total.time_to_accept_s.count} accepted handoffs`),
      card("Outcomes", hbars("Outcomes of handoffs to a person", [
        ["accepted", total.accepted], ["completed", total.completed],
        ["returned by agent", total.returned_by_agent], ["rolled back", total.rollbacks],
      ])),
      card("Customer satisfaction", bars("CSAT ratings 1 to 5", ["1", "2", "3", "4", "5"], [
        { name: "ratings", values: [1, 2, 3, 4, 5].map((r) => total.csat.distribution[String(r)] || 0), color: COLORS[1] },
      ]), total.csat.count ? `${total.csat.count} ratings, average ${total.csat.average}` : "No ratings yet."),
      ...figures,
      auth.role === "admin" ? registerForm(auth) : null);  // registering agents is the admin's
  }

  return { render };
})();

/* Policy editor, experiment panel: start, stop, promote a variant; outcomes per variant with 95% intervals.
   Every action publishes a policy version (through the editor's publish path on the server), so the
   editor reloads the serving text and the version list afterwards ("baton:policy-changed"). */
"use strict";

(() => {
  const { el, api } = Baton;
  const $ = (id) => document.getElementById(id);
  let token = null;

  const LABELS = {
    handoff_rate: "Handoff rate",
    time_to_accept_s: "Time to accept",
    completion_rate: "Completion",
    rollback_rate: "Rollbacks",
    csat: "CSAT",
    repeat_question_rate: "Repeat questions",
  };

  function fmt(metric, x) {
    if (x === null || x === undefined) return "–";
    if (metric.endsWith("_rate")) return `${Math.round(x * 100)}%`;
    return metric === "time_to_accept_s" ? `${x.toFixed(1)} s` : x.toFixed(2);
  }

  function cell(metric, m) {
    const e = m.estimate;
    if (!e.n) return el("td", { class: "muted" }, "no data");
    const interval = e.low !== null && e.high !== null ? ` (${fmt(metric, e.low)}–${fmt(metric, e.high)})` : "";
    const count = e.successes !== null && e.successes !== undefined ? `${e.successes}/${e.n}` : `n=${e.n}`;
    const text = `${fmt(metric, e.value)}${interval} · ${count}`;
    return el("td", { class: m.outcome === "worse" ? "error" : null, title: m.verdict },
      m.outcome === "better" ? el("strong", {}, text) : text);
  }

  function outcomes(analytics) {
    if (!analytics) return null;
    const variants = analytics.variants;
    return el("div", {},
      el("h3", {}, "Outcomes (95% intervals)"),
      el("table", { class: "live", id: "p-exp-outcomes" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "metric"),
          ...variants.map((v) => el("th", { scope: "col" }, v.variant, v.control ? " (control)" : "")))),
        el("tbody", {},
          el("tr", {}, el("td", {}, "Conversations"), ...variants.map((v) => el("td", {}, String(v.conversations)))),
          ...Object.keys(LABELS).map((metric) => el("tr", { "data-metric": metric }, el("td", {}, LABELS[metric]),
            ...variants.map((v) => cell(metric, v.metrics[metric])))))),
      el("p", { class: "notice", id: "p-exp-verdict" }, el("strong", {}, "Verdict: "), analytics.verdict));
  }

  async function act(experiment, action, body) {
    $("p-exp-error").textContent = "";
    try {
      await api("POST", `/v1/experiments/${encodeURIComponent(experiment.id)}/${action}`, token,
        { ...body, published_by: $("p-by").value || "admin" });
      const message = action === "promote" ? `Promoted ${body.variant}: its policy is serving`
        : `Experiment ${action === "start" ? "started" : "stopped"}`;
      $("p-state").textContent = message;
      document.dispatchEvent(new CustomEvent("baton:policy-changed", { detail: { message } }));
      await load();
    } catch (err) { $("p-exp-error").textContent = `${action} failed: ${err.message}`; }
  }

  function promote(experiment, variant) {
    if (!confirm(`Publish variant ${variant} as the policy? The experiment ends; its outcomes stay readable.`)) return;
    act(experiment, "promote", { variant });
  }

  async function load() {
    const body = $("p-exp-body");
    let list;
    try { list = await api("GET", "/v1/experiments", token); }
    catch (err) { body.replaceChildren(el("p", { class: "error", role: "alert" }, err.message)); return; }
    if (!list.length) {
      body.replaceChildren(el("p", { class: "muted", id: "p-exp-none" },
        "No experiment. Declare one under ", el("code", {}, "experiment:"),
        " (variants with traffic shares that override rules, narrations or brief sections) and publish."));
      return;
    }
    const x = list[0];
    const analytics = await api("GET", `/v1/experiments/${encodeURIComponent(x.id)}/analytics`, token).catch(() => null);
    const running = x.status === "running";
    body.replaceChildren(
      el("p", {}, el("strong", {}, x.id), " ",
        el("span", { class: `pill ${running ? "low" : "medium"}`, id: "p-exp-status" }, x.status),
        x.description ? ` · ${x.description}` : ""),
      el("div", { class: "row" }, running
        ? el("button", { type: "button", id: "p-exp-stop", class: "danger", onclick: () => act(x, "stop", {}) }, "Stop experiment")
        : el("button", { type: "button", id: "p-exp-start", class: "primary", onclick: () => act(x, "start", {}) }, "Start experiment")),
      el("table", { class: "live", id: "p-exp-variants" },
        el("thead", {}, el("tr", {}, ...["variant", "share", "changes", ""].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, ...x.variants.map((v) => el("tr", { "data-variant": v.name },
          el("td", {}, v.name, v.name === x.control ? " (control)" : ""),
          el("td", {}, `${Math.round(v.share * 100)}%`),
          el("td", {}, v.changes.length ? v.changes.join("; ") : "none"),
          el("td", {}, el("button", { type: "button", onclick: () => promote(x, v.name), "aria-label": `Promote variant ${v.name}` }, "Promote")))))),
      outcomes(analytics));
  }

  document.addEventListener("baton:policy-signed-in", (e) => { token = e.detail.token; load(); });
  document.addEventListener("baton:policy-published", () => { if (token) load(); });
})();

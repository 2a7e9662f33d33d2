/* Admin analytics beyond the charts: service figures, trigger share, per-agent performance and
   outcomes per policy version (GET /v1/analytics/handoffs, /agents and /policies for one window). */
"use strict";

const BatonAnalytics = (() => {
  const { el, api } = Baton;

  const num = (v, digits = 1) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits).replace(/\.0+$/, ""));
  const secs = (v) => {
    if (v === null || v === undefined) return "—";
    return v >= 90 ? `${num(v / 60)} min` : `${num(v, v < 10 ? 2 : 1)} s`;
  };
  const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)}%`);

  function table(label, head, rows) {
    return el("table", { class: "figures", "aria-label": label },
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: head.length, class: "muted" }, "No handoffs in this window."))])));
  }

  function panel(label, wide, ...children) {
    return el("section", { class: wide ? "panel wide" : "panel", "aria-label": label }, el("h2", {}, label), ...children);
  }

  /** The sections for the window [since, until): service tiles, trigger share, agents, policy versions. */
  async function sections(total, auth, since, until) {
    const q = `since=${encodeURIComponent(new Date(since).toISOString())}&until=${encodeURIComponent(new Date(until).toISOString())}`;
    const [agents, policies] = await Promise.all([
      api("GET", `/v1/analytics/agents?${q}`, auth.token),
      api("GET", `/v1/analytics/policies?${q}`, auth.token),
    ]);
    const tiles = el("div", { class: "tiles", id: "c-service-tiles" },
      ...[["Handoffs per hour", num(total.handoffs_per_hour, 2)],
        ["Average handle time", secs(total.average_handle_time_s)],
        ["Time to first agent reply", secs(total.time_to_first_reply_s.average)],
        ["Abandoned in queue", total.abandoned_in_queue],
        ["Accepted", total.accepted], ["Transfers", total.transfers]]
        .map(([k, v]) => el("div", { class: "tile" }, el("b", {}, v), k)));
    const shares = Object.entries(total.trigger_share_pct).sort((a, b) => b[1] - a[1]);
    const share = table("Trigger share", ["Trigger", "Handoffs", "Share"], shares.map(([trigger, p]) =>
      el("tr", {}, el("td", {}, trigger.replaceAll("_", " ")), el("td", {}, total.trigger_mix[trigger]), el("td", {}, `${num(p)}%`))));
    const people = table("Per-agent performance",
      ["Agent", "Offers", "Accepted", "Missed", "Declined", "Completed", "Transferred", "Handle time", "First reply", "CSAT"],
      agents.agents.map((a) => el("tr", {},
        el("td", {}, a.name), el("td", {}, a.offers), el("td", {}, `${a.accepted} (${pct(a.acceptance_rate)})`),
        el("td", {}, a.missed), el("td", {}, a.declined), el("td", {}, a.completed), el("td", {}, a.transferred_out),
        el("td", {}, secs(a.average_handle_time_s)), el("td", {}, secs(a.average_first_reply_s)),
        el("td", {}, a.csat_average === null ? "—" : `${num(a.csat_average)} (${a.csat_count})`))));
    const versions = table("Outcomes per policy version",
      ["Policy", "Version", "Handoffs", "To a person", "Completed", "Returned", "Rolled back", "Abandoned", "Completion", "CSAT"],
      policies.versions.map((v) => el("tr", {},
        el("td", {}, v.policy), el("td", {}, el("code", {}, v.policy_version)), el("td", {}, v.handoffs),
        el("td", {}, v.human_handoffs), el("td", {}, v.completed), el("td", {}, v.returned_by_agent),
        el("td", {}, v.rollbacks), el("td", {}, v.abandoned_in_queue), el("td", {}, pct(v.completion_rate)),
        el("td", {}, v.csat_average === null ? "—" : num(v.csat_average)))));
    return [
      panel("Service", false, tiles),
      panel("Trigger share", false, share),
      panel("Per-agent performance", true, people),
      panel("Outcomes per policy version", true, versions),
    ];
  }

  return { sections };
})();

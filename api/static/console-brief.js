/* A conversation as the team reads it: the brief (progressive disclosure: 5 seconds, then 30) and
   the transcript with turn anchors the brief's facts link to. The agent's desk and the supervisors'
   live desk both render with it; ids start with a prefix, so each view's are its own. */
"use strict";

const BatonBrief = (() => {
  const { el, speakerName } = Baton;

  function turnLink(turn, label) {
    return el("button", {
      type: "button", class: "fact-link", "aria-label": `Show turn ${turn} in the transcript`,
      onclick: () => {
        const node = document.getElementById(`turn-${turn}`);
        if (!node) return;
        node.scrollIntoView({ behavior: "smooth", block: "center" });
        node.classList.remove("flash"); void node.offsetWidth; node.classList.add("flash");
        node.focus({ preventScroll: true });
      },
    }, label);
  }

  function list(items, render) {
    if (!items || !items.length) return el("p", { class: "muted" }, "None.");
    return el("ul", {}, ...items.map((i) => el("li", {}, render ? render(i) : String(i))));
  }

  const words = (k) => String(k).replace(/_/g, " ");

  /** The relationship and business parts (issue 15 §3): each item links the turn it comes from. */
  function context(b, prefix) {
    const out = [];
    const r = b.rapport;
    if (r) out.push(el("h3", {}, "Rapport"), el("div", { id: `${prefix}-rapport` },
      el("span", { class: `pill ${r.score >= 7 ? "positive" : r.score <= 3 ? "negative" : "neutral"}` }, `${r.score}/10`),
      list(r.evidence, (n) => [n.note, " ", turnLink(n.turn, `(turn ${n.turn})`)])));
    if (b.objections && b.objections.length) out.push(el("h3", {}, "Objections"),
      el("ul", { id: `${prefix}-objections` }, ...b.objections.map((o) => el("li", {},
        el("strong", {}, `${words(o.kind)}: `), `“${o.text}” `, turnLink(o.turn, `(turn ${o.turn})`), " → ",
        o.answered
          ? [o.answer ? `“${o.answer}” ` : "answered ", o.answer_turn == null ? null : turnLink(o.answer_turn, `(turn ${o.answer_turn})`)]
          : el("span", { class: "pill negative" }, "unanswered")))));
    const biz = b.business;
    if (biz) out.push(el("h3", {}, biz.kind === "lead" ? "Lead" : "Account"), el("div", { id: `${prefix}-business` },
      biz.stage ? el("div", {}, el("strong", {}, "stage: "), biz.stage, biz.basis ? ` (${biz.basis})` : "") : null,
      ...Object.entries(biz.details || {}).map(([k, d]) => el("div", {}, el("strong", {}, `${words(k)}: `), d.value, " ",
        turnLink(d.turn, `(turn ${d.turn})`)))));
    if (b.intent_history && b.intent_history.length) out.push(el("h3", {}, "Intent history"),
      el("ol", { id: `${prefix}-intents`, class: "intents" }, ...b.intent_history.map((i) => el("li", {},
        `${words(i.intent)} (${Math.round(i.confidence * 100)}%) `, turnLink(i.turn, `(turn ${i.turn})`)))));
    if (b.earlier && b.earlier.length) out.push(el("h3", {}, "Earlier conversations"),
      el("ul", { id: `${prefix}-earlier` }, ...b.earlier.map((c) => el("li", { "data-conversation": c.conversation_id },
        el("strong", {}, c.date), " · ", el("span", { class: "pill" }, c.outcome), c.summary ? ` ${c.summary}` : ""))));
    return out;
  }

  /**
   * The brief of a handoff detail (GET /v1/handoffs/{id}) into ``box``. ``extra`` is shown last (the
   * desk's openers and saved replies); ``prefix`` names the ids ("c": the desk's #c-summary).
   */
  function render(box, detail, { prefix = "c", extra = [] } = {}) {
    const b = detail.brief || {};
    const h = detail.handoff;
    const sentiment = b.sentiment || {};
    // A value the customer changed is struck through, with what it became: the agent asks for neither.
    const facts = list(b.facts, (f) => [el("strong", {}, `${f.key.replace(/_/g, " ")}: `),
      ...(f.changed_to ? [el("s", { class: "fact-changed" }, f.value), ` changed to ${f.changed_to}`] : [f.value]),
      " ", turnLink(f.turn, `(turn ${f.turn})`)]);
    const sections = Object.entries(b.sections || {}).map(([k, v]) => el("div", {},
      el("strong", {}, `${k.replace(/_/g, " ")}: `),
      typeof v === "string" ? v : Array.isArray(v) ? v.join("; ") : Object.entries(v).map(([a, c]) => `${a}: ${c}`).join("; ")));
    // What a code handoff attached (a campaign, a CRM lead): shown as given, as text.
    const attached = Object.entries(h.metadata || {}).map(([k, v]) => el("div", { class: "handoff-meta" },
      el("strong", {}, `${k.replace(/_/g, " ")}: `), typeof v === "string" ? v : JSON.stringify(v)));
    // Seed 000's request fields, and the facts and notes added from outside (grounded by who added them).
    const req = b.request || {};
    const requested = [["campaign", req.campaign_id], ["lead", req.lead_id], ["trigger source", req.trigger_source],
      ["trigger confidence", req.trigger_confidence], ["AI confidence", req.ai_confidence],
      ["estimated handle time", req.estimated_handle_time_min == null ? null : `${req.estimated_handle_time_min} min`]]
      .filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => el("div", { class: "handoff-meta" }, el("strong", {}, `${k}: `), String(v)));
    const added = list(b.added, (n) => [n.key ? el("strong", {}, `${n.key.replace(/_/g, " ")}: `) : null,
      n.text, " ", el("span", { class: "muted" }, `(added by ${n.by})`)]);
    box.replaceChildren(
      el("h2", { id: `${prefix}-brief-h` }, "Brief"),
      el("section", { "aria-label": "5-second view" },
        el("h3", {}, "In 5 seconds"),
        el("dl", { class: "five" },
          el("dt", {}, "Summary"), el("dd", { id: `${prefix}-summary` }, b.summary || h.reason || "—"),
          el("dt", {}, "Goal"), el("dd", {}, b.goal || "—"),
          el("dt", {}, "Sentiment"), el("dd", {}, el("span", { class: `pill ${sentiment.label || ""}` }, `${sentiment.label || "unknown"}${sentiment.trend ? `, ${sentiment.trend}` : ""}`)),
          el("dt", {}, "Urgency"), el("dd", {}, el("span", { class: `pill ${b.urgency || h.urgency}` }, b.urgency || h.urgency), ` · priority ${h.priority} · ${h.trigger || ""}`),
          b.business && b.business.stage ? [el("dt", {}, "Lead stage"), el("dd", {}, b.business.stage)] : null,
          b.earlier && b.earlier.length ? [el("dt", {}, "Returning"), el("dd", {}, `${b.earlier.length} earlier conversation(s), last ${b.earlier[0].date}: ${b.earlier[0].outcome}`)] : null)),
      el("details", { id: `${prefix}-thirty` },
        el("summary", {}, "In 30 seconds: facts, objections, rapport, what was tried, open questions"),
        el("h3", {}, "Facts"), facts,
        ...context(b, prefix),
        el("h3", {}, "Already tried"), list(b.tried),
        el("h3", {}, "Open questions"), list(b.open_questions),
        b.next_step ? [el("h3", {}, "Suggested next step"), el("p", {}, b.next_step)] : null,
        sections.length ? [el("h3", {}, "Details"), ...sections] : null,
        b.added && b.added.length ? [el("h3", {}, "Added to the brief"), added] : null,
        attached.length ? [el("h3", {}, "From the handoff"), ...attached] : null,
        requested.length ? [el("h3", {}, "Handoff request"), ...requested] : null),
      ...extra);
  }

  /** A transcript list: ``reset(turns)`` shows them, ``add(...)`` appends a live one. */
  class Transcript {
    constructor(ol, me) { this.ol = ol; this.me = me; this.next = 0; }

    add(role, speaker, text, index = this.next) {
      const who = role === "customer" ? "Customer" : role === "agent" ? (speaker === this.me ? "You" : "Agent") : speakerName(speaker, role);
      const item = el("li", { class: `msg ${role === "customer" ? "agent-view-customer bot" : role === "agent" ? "customer" : role}`, id: `turn-${index}`, tabindex: "-1" },
        el("div", { class: "who" }, who, ` · turn ${index}`),
        el("div", { class: "bubble" }, text));
      this.ol.append(item);
      this.ol.scrollTop = this.ol.scrollHeight;
      this.next = index + 1;
    }

    reset(turns) {
      this.ol.replaceChildren();
      this.next = 0;
      for (const t of turns) this.add(t.role, t.speaker, t.text, t.index);
    }
  }

  return { render, Transcript };
})();

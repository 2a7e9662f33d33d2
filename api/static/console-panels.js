/* Console panels beside a conversation: customer (profile, facts, history), internal notes, saved
   replies, and the transfer picker (agents with presence and load, queues, skills). */
"use strict";

const BatonPanels = (() => {
  const { el, api } = Baton;
  const when = (s) => new Date(s * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });

  /** Profile, this conversation's facts, and the customer's earlier conversations with their handoffs. */
  async function customer(box, auth, cid) {
    box.replaceChildren(el("h3", {}, "Customer"), el("p", { class: "muted" }, "Loading…"));
    let p;
    try { p = await api("GET", `/v1/conversations/${encodeURIComponent(cid)}/customer`, auth.token); }
    catch (err) { box.replaceChildren(el("h3", {}, "Customer"), el("p", { class: "error" }, err.message)); return; }
    const profile = Object.entries(p.profile || {}).filter(([k]) => k !== "claimed" && k !== "id")
      .map(([k, v]) => el("div", {}, el("strong", {}, `${k}: `), String(v)));
    const claimed = Object.entries((p.profile || {}).claimed || {})
      .map(([k, v]) => el("div", { class: "muted" }, `${k}: ${v} (unverified)`));
    const facts = (p.facts || []).map((f) => el("li", {}, el("strong", {}, `${String(f.key).replace(/_/g, " ")}: `), String(f.value)));
    const earlier = (p.earlier || []).map((c) => el("li", { class: "past", "data-conversation": c.conversation_id },
      el("div", {}, el("strong", {}, when(c.created_at)), ` · ${c.status}`),
      c.first_message ? el("div", { class: "muted" }, `“${c.first_message}”`) : null,
      el("ul", {}, ...c.handoffs.filter((h) => h.kind === "human").map((h) => el("li", { class: "past-handoff" },
        el("div", {}, h.summary || h.trigger),
        el("div", {}, el("span", { class: "pill" }, h.outcome), h.note ? ` · note: ${h.note}` : "")))),
    ));
    box.replaceChildren(
      el("h3", {}, "Customer"),
      p.customer_id ? el("div", {}, el("strong", {}, "id: "), p.customer_id) : el("p", { class: "muted" }, "No verified customer id."),
      ...profile, ...claimed,
      el("h3", {}, "Facts in this conversation"),
      facts.length ? el("ul", {}, ...facts) : el("p", { class: "muted" }, "None yet."),
      el("h3", {}, "Earlier conversations"),
      earlier.length ? el("ul", { class: "history", id: "c-history" }, ...earlier) : el("p", { class: "muted", id: "c-history" }, "None."));
  }

  /** Internal notes: the team's, never sent to the customer. */
  async function notes(box, auth, cid) {
    const path = `/v1/conversations/${encodeURIComponent(cid)}/notes`;
    const list = el("ol", { class: "notes", id: "c-notes", "aria-live": "polite" });
    const text = el("textarea", { id: "c-note-text", rows: 2, maxlength: 2000, placeholder: "Only agents see this" });
    const error = el("div", { class: "error", role: "alert" });
    const show = (items) => list.replaceChildren(...items.map((n) => el("li", { class: "note" },
      el("div", { class: "who" }, `${n.author} · ${when(n.created_at)}`), el("div", {}, n.text))));
    const form = el("form", { class: "note-form" },
      el("label", { for: "c-note-text" }, "Internal note (agents only, never sent to the customer)"), text,
      el("button", { type: "submit", id: "c-note-add" }, "Add note"), error);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!text.value.trim()) return;
      error.textContent = "";
      try { await api("POST", path, auth.token, { text: text.value.trim() }); text.value = ""; show(await api("GET", path, auth.token)); }
      catch (err) { error.textContent = err.message; }
    });
    box.replaceChildren(el("h3", {}, "Internal notes"), list, form);
    try { show(await api("GET", path, auth.token)); } catch (err) { error.textContent = err.message; }
  }

  /** Saved replies of the agent's teams, as buttons that fill the composer. */
  function savedReplies(teams, insert) {
    const entries = Object.entries(teams || {}).filter(([, r]) => r.length);
    if (!entries.length) return el("p", { class: "muted", id: "c-saved" }, "No saved replies for your teams.");
    return el("div", { id: "c-saved", class: "saved" }, ...entries.map(([team, replies]) => el("div", {},
      el("div", { class: "muted" }, team === "all" ? "Everyone" : team.replace(/_/g, " ")),
      el("div", { class: "openers" }, ...replies.map((r) => el("button", {
        type: "button", title: r.text, onclick: () => insert(r.text),
      }, el("strong", {}, `${r.title}: `), r.text))))));
  }

  /** A transfer form whose target is picked from a list: agents (presence, load), queues, skills. */
  function transferForm(auth, submit) {
    const select = el("select", { id: "c-transfer-to", name: "to", required: true }, el("option", { value: "" }, "Loading…"));
    const reason = el("input", { id: "c-f-transfer-reason", name: "reason", placeholder: "needs a legal specialist" });
    const form = el("form", {},
      el("div", {}, el("label", { for: "c-transfer-to" }, "Transfer to"), select),
      el("div", {}, el("label", { for: "c-f-transfer-reason" }, "Reason"), reason),
      el("button", { type: "submit", class: "primary" }, "Transfer"));
    const details = el("details", { id: "c-transfer" }, el("summary", {}, "Transfer"), form);
    details.addEventListener("toggle", async () => {
      if (!details.open) return;
      try {
        const t = await api("GET", "/v1/desk/transfer-targets", auth.token);
        const agents = t.agents.map((a) => el("option", { value: `agent:${a.id}`, disabled: !a.available },
          `${a.display_name} (${a.id}) · ${a.status} · ${a.held}/${a.max_concurrent} chats${a.available ? "" : " · busy"}`));
        select.replaceChildren(el("option", { value: "" }, "Pick an agent, a queue or a skill"),
          el("optgroup", { label: "Agents" }, ...agents),
          el("optgroup", { label: "Queues" }, ...t.queues.map((q) => el("option", { value: `queue:${q.name}` }, `${q.name.replace(/_/g, " ")} (${q.skills.join(", ") || "any"})`))),
          el("optgroup", { label: "Skills" }, ...t.skills.map((s) => el("option", { value: `skill:${s}` }, s.replace(/_/g, " ")))));
      } catch (err) { select.replaceChildren(el("option", { value: "" }, err.message)); }
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const [kind, name] = select.value.split(/:(.*)/s);
      if (!name) return;
      const body = { reason: reason.value };
      if (kind === "agent") body.to_agent_id = name;
      else if (kind === "queue") body.to_queue = name;
      else body.to_skills = [name];
      await submit(body);
    });
    return details;
  }

  return { customer, notes, savedReplies, transferForm };
})();

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

  const noteLists = new Map();  // box -> {cid, list, ids}: the notes shown now, for live additions

  function noteItem(n) {
    return el("li", { class: "note", "data-note": n.id },
      el("div", { class: "who" }, `${n.author} · ${when(n.created_at)}`), el("div", {}, n.text));
  }

  /** Internal notes: the team's, never sent to the customer; a colleague's new one appears live. */
  async function notes(box, auth, cid) {
    const path = `/v1/conversations/${encodeURIComponent(cid)}/notes`;
    const list = el("ol", { class: "notes", id: "c-notes", "aria-live": "polite" });
    const text = el("textarea", { id: "c-note-text", rows: 2, maxlength: 2000, placeholder: "Only the team sees this" });
    const error = el("div", { class: "error", role: "alert" });
    const shown = { cid, list, ids: new Set() };
    const show = (items) => {
      shown.ids = new Set(items.map((n) => n.id));
      list.replaceChildren(...items.map(noteItem));
    };
    const form = el("form", { class: "note-form" },
      el("label", { for: "c-note-text" }, "Internal note (the team only, never sent to the customer)"), text,
      el("button", { type: "submit", id: "c-note-add" }, "Add note"), error);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!text.value.trim()) return;
      error.textContent = "";
      try { noteAdded(await api("POST", path, auth.token, { text: text.value.trim() })); text.value = ""; }
      catch (err) { error.textContent = err.message; }
    });
    noteLists.set(box, shown);
    box.replaceChildren(el("h3", {}, "Internal notes"), list, form);
    try { show(await api("GET", path, auth.token)); } catch (err) { error.textContent = err.message; }
  }

  /** A note added (here, by a colleague, by a supervisor): appended wherever its conversation is shown. */
  function noteAdded(note) {
    for (const [box, shown] of noteLists) {
      if (!box.isConnected || shown.list.parentNode !== box) { noteLists.delete(box); continue; }
      if (shown.cid !== note.conversation_id || shown.ids.has(note.id)) continue;
      shown.ids.add(note.id);
      shown.list.append(noteItem(note));
    }
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

  /** An action behind a disclosure: labelled fields and a submit button. Field ids are "c-f-<id>":
   *  each one unique on the page, so every label names its own field. */
  function actionForm(label, fields, submit, danger) {
    const form = el("form", {}, ...fields.map(([id, name, text, placeholder]) => el("div", {},
      el("label", { for: `c-f-${id}` }, text),
      el("input", { id: `c-f-${id}`, name, placeholder: placeholder || "" }))),
    el("button", { type: "submit", class: danger ? "danger" : "primary" }, label));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submit(Object.fromEntries(new FormData(form).entries()));
    });
    return el("details", {}, el("summary", {}, label), form);
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

  return { customer, notes, noteAdded, savedReplies, actionForm, transferForm };
})();

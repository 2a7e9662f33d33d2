/* The supervisors' (and the admin's) live desk: agents, the queue with waits, held chats, reassign,
   and any conversation's brief, transcript and notes (new notes arrive over the desk's socket). The
   admin also edits saved replies here. Refreshed every few seconds while shown. */
"use strict";

const BatonLive = (() => {
  const { el, api, Stream } = Baton;
  let timer = null;
  let opened = null;  // the conversation pane, kept across refreshes
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const secs = (s) => (s < 90 ? `${Math.round(s)}s` : `${Math.round(s / 60)} min`);

  function reassign(auth, handoffId, agents, onDone) {
    const select = el("select", { "aria-label": `Reassign ${handoffId} to`, class: "reassign-to" },
      el("option", { value: "" }, "Reassign to…"),
      ...agents.map((a) => el("option", { value: a.id, disabled: !a.available }, `${a.display_name} · ${a.status} · ${a.held}/${a.max_concurrent}`)));
    const out = el("span", { class: "error", role: "alert" });
    const go = el("button", { type: "button", class: "reassign" }, "Reassign");
    go.addEventListener("click", async () => {
      if (!select.value) return;
      out.textContent = "";
      try { await api("POST", `/v1/desk/handoffs/${encodeURIComponent(handoffId)}/reassign`, auth.token, { to_agent_id: select.value }); select.value = ""; onDone(); }
      catch (err) { out.textContent = err.message; }
    });
    return el("div", { class: "row" }, select, go, out);
  }

  /** Notes over the desk's socket (WS /v1/desk/ws); ``onStatus`` shows the connection as the desk's does. */
  function follow(auth, onStatus) {
    new Stream("/v1/desk/ws", auth.token, {
      since: null, onStatus,
      onEvent: (ev) => { if (ev.type === "note_added") BatonPanels.noteAdded(ev.note); },
    }).start();
  }

  /** A conversation's brief, transcript and notes, read-only but for the notes. */
  async function openConversation(auth, handoffId) {
    const detail = await api("GET", `/v1/handoffs/${encodeURIComponent(handoffId)}`, auth.token);
    const cid = detail.handoff.conversation_id;
    const brief = el("div", { class: "brief" });
    const ol = el("ol", { class: "messages", "aria-label": "Transcript" });
    const notes = el("div", { class: "side-panel", "aria-label": "Internal notes" });
    BatonBrief.render(brief, detail, { prefix: "lv" });
    new BatonBrief.Transcript(ol, null).reset(detail.transcript);
    const close = el("button", { type: "button", onclick: () => { opened.remove(); opened = null; } }, "Close");
    const pane = el("section", { class: "panel live-conversation", id: "lv-conversation", "data-conversation": cid, "aria-label": "Conversation" },
      el("div", { class: "row" }, el("h2", { class: "grow" }, `Conversation ${cid}`), close),
      el("div", { class: "live-columns" }, brief, el("div", {}, ol, notes)));
    if (opened) opened.replaceWith(pane); else document.getElementById("c-live").prepend(pane);
    opened = pane;
    ol.scrollTop = ol.scrollHeight;  // the latest turns first
    await BatonPanels.notes(notes, auth, cid);
  }

  function openButton(auth, handoffId) {
    return el("button", { type: "button", class: "open-conversation", onclick: () => openConversation(auth, handoffId) }, "Open");
  }

  function table(caption, head, rows, empty) {
    if (!rows.length) return el("section", { class: "panel", "aria-label": caption }, el("h2", {}, caption), el("p", { class: "muted" }, empty));
    return el("section", { class: "panel", "aria-label": caption }, el("h2", {}, caption),
      el("table", { class: "live" }, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, ...rows)));
  }

  async function render(root, auth) {
    clearTimeout(timer);
    if (root.closest(".hidden")) return;
    if ([...root.querySelectorAll(".reassign-to")].some((s) => s.value)) {  // a refresh would drop the pick
      timer = setTimeout(() => render(root, auth), 3000);
      return;
    }
    let live;
    try { live = await api("GET", "/v1/desk/live", auth.token); }
    catch (err) { root.replaceChildren(el("p", { class: "error", role: "alert" }, err.message)); return; }
    const again = () => render(root, auth);
    const agents = table("Agents", ["Agent", "Status", "Load", "Skills"], live.agents.map((a) => el("tr", { "data-agent": a.id },
      el("td", {}, `${a.display_name} (${a.id})`), el("td", {}, el("span", { class: `pill status-${a.status}` }, a.status)),
      el("td", {}, `${plural(a.held, "chat")} + ${plural(a.load - a.held, "offer")} / ${a.max_concurrent}`), el("td", {}, a.skills.join(", ")))), "No agents registered.");
    const queue = table("Queue", ["Waiting", "Priority", "Summary", "Offered to", ""], live.queue.map((q) => el("tr", { "data-handoff": q.handoff_id, "data-conversation": q.conversation_id },
      el("td", {}, secs(q.waited_s)), el("td", {}, `${q.priority} · ${q.urgency}`), el("td", {}, q.summary),
      el("td", { class: "offered-to" }, q.offered_agent_id || "—"),
      el("td", {}, openButton(auth, q.handoff_id), reassign(auth, q.handoff_id, live.agents, again)))), "Nobody is waiting.");
    const held = table("Conversations with agents", ["Agent", "For", "Summary", ""], live.held.map((h) => el("tr", { "data-handoff": h.handoff_id, "data-conversation": h.conversation_id },
      el("td", {}, h.agent_id), el("td", {}, secs(h.since_s)), el("td", {}, h.summary),
      el("td", {}, openButton(auth, h.handoff_id), reassign(auth, h.handoff_id, live.agents.filter((a) => a.id !== h.agent_id), again)))), "No conversation is with an agent.");
    // saved replies are a setting: the admin's to edit
    const replies = auth.role === "admin" ? await repliesEditor(auth) : null;
    root.replaceChildren(...[opened, el("p", { class: "muted", role: "status" }, `Live desk · ${new Date(live.at).toLocaleTimeString()}`), agents, queue, held, replies].filter(Boolean));
    timer = setTimeout(again, 3000);
  }

  let editing = null;  // keep the editor (and what is typed in it) across refreshes

  /** Saved replies per team: one reply per line, "Title | text". */
  async function repliesEditor(auth) {
    if (editing) return editing;
    const { teams } = await api("GET", "/v1/saved-replies", auth.token);
    const team = el("input", { id: "c-replies-team", value: "all", pattern: "[a-z][a-z0-9_]*", required: true });
    const text = el("textarea", { id: "c-replies-text", rows: 5, placeholder: "Greeting | Hi, thanks for waiting. I'm here to help." });
    const out = el("div", { role: "status", "aria-live": "polite" });
    const load = () => { text.value = (teams[team.value] || []).map((r) => `${r.title} | ${r.text}`).join("\n"); };
    team.addEventListener("change", load);
    const form = el("form", { class: "replies-form" },
      el("div", {}, el("label", { for: "c-replies-team" }, "Team (a skill, or all)"), team),
      el("div", { class: "grow" }, el("label", { for: "c-replies-text" }, "Saved replies, one per line: Title | text"), text),
      el("button", { type: "submit", class: "primary", id: "c-replies-save" }, "Save replies"), out);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const replies = text.value.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
        const [title, ...rest] = l.split("|");
        return rest.length ? { title: title.trim(), text: rest.join("|").trim() } : { title: l.slice(0, 40), text: l };
      });
      try {
        const saved = await api("PUT", `/v1/saved-replies/${encodeURIComponent(team.value)}`, auth.token, { replies });
        Object.keys(teams).forEach((k) => delete teams[k]);
        Object.assign(teams, saved.teams);
        out.replaceChildren(el("p", { class: "notice" }, `Saved ${replies.length} replies for ${team.value}.`));
      } catch (err) { out.replaceChildren(el("p", { class: "error" }, err.message)); }
    });
    load();
    editing = el("section", { class: "panel", "aria-label": "Saved replies" }, el("h2", {}, "Saved replies"), form);
    return editing;
  }

  function stop() { clearTimeout(timer); }

  return { render, stop, follow };
})();

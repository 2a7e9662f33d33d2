/* Admin (supervisor) views: the live desk (agents, queue with waits, held chats, reassign) and the
   saved-replies editor. Refreshed every few seconds while shown. */
"use strict";

const BatonLive = (() => {
  const { el, api } = Baton;
  let timer = null;
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
      try { await api("POST", `/v1/desk/handoffs/${encodeURIComponent(handoffId)}/reassign`, auth.token, { to_agent_id: select.value }); onDone(); }
      catch (err) { out.textContent = err.message; }
    });
    return el("div", { class: "row" }, select, go, out);
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
    let live;
    try { live = await api("GET", "/v1/desk/live", auth.token); }
    catch (err) { root.replaceChildren(el("p", { class: "error", role: "alert" }, err.message)); return; }
    const again = () => render(root, auth);
    const agents = table("Agents", ["Agent", "Status", "Load", "Skills"], live.agents.map((a) => el("tr", { "data-agent": a.id },
      el("td", {}, `${a.display_name} (${a.id})`), el("td", {}, el("span", { class: `pill status-${a.status}` }, a.status)),
      el("td", {}, `${plural(a.held, "chat")} + ${plural(a.load - a.held, "offer")} / ${a.max_concurrent}`), el("td", {}, a.skills.join(", ")))), "No agents registered.");
    const queue = table("Queue", ["Waiting", "Priority", "Summary", "Offered to", ""], live.queue.map((q) => el("tr", { "data-handoff": q.handoff_id },
      el("td", {}, secs(q.waited_s)), el("td", {}, `${q.priority} · ${q.urgency}`), el("td", {}, q.summary),
      el("td", {}, q.offered_agent_id || "—"), el("td", {}, reassign(auth, q.handoff_id, live.agents, again)))), "Nobody is waiting.");
    const held = table("Conversations with agents", ["Agent", "For", "Summary", ""], live.held.map((h) => el("tr", { "data-handoff": h.handoff_id },
      el("td", {}, h.agent_id), el("td", {}, secs(h.since_s)), el("td", {}, h.summary),
      el("td", {}, reassign(auth, h.handoff_id, live.agents.filter((a) => a.id !== h.agent_id), again)))), "No conversation is with an agent.");
    root.replaceChildren(el("p", { class: "muted", role: "status" }, `Live desk · ${new Date(live.at).toLocaleTimeString()}`), agents, queue, held, await repliesEditor(auth));
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

  return { render, stop };
})();

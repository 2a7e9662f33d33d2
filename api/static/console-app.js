/* Agent console: sign-in for every role, presence, live offer queue, the open conversation (brief and
   transcript from console-brief.js), live chat, transfer/return/complete. Supervisors and the admin
   get the live desk (console-live.js) and analytics instead of a desk of their own. */
"use strict";

(() => {
  const { el, api, Stream } = Baton;
  const KEY = "baton.console";
  const $ = (id) => document.getElementById(id);

  let auth = null;  // {token, agentId, role}
  let stream = null;
  const offers = new Map();  // handoff_id -> offer event
  const mine = new Map();  // handoff_id -> {handoff_id, conversation_id, status, unread}
  const missed = new Set();  // handoff ids whose offer to this agent lapsed
  let savedReplies = {};  // saved replies of the agent's teams
  let waitingTimer = null;
  let current = null;  // {handoff, brief, transcript}
  let transcript = null;  // BatonBrief.Transcript of the open conversation
  let typingTimer = null, lastTyping = 0, presence = "offline";

  // -- sign in ---------------------------------------------------------------------------------
  /** An agent id and token, or a token alone: GET /v1/me says whose it is. */
  async function signIn(token, given) {
    const me = given ? null : await api("GET", "/v1/me", token);
    const agentId = given || (me.role === "agent" ? me.id : null);
    if (agentId) {
      const agent = await api("GET", `/v1/agents/${encodeURIComponent(agentId)}`, token);
      auth = { token, agentId, role: "agent", name: agent.display_name || agentId };
      presence = agent.status;
      BatonNotify.configure(agent.notifications, (notifications) =>
        api("PATCH", `/v1/agents/${encodeURIComponent(agentId)}`, token, { notifications }));
    } else if (me.role === "admin" || me.role === "supervisor") {
      auth = { token, agentId: null, role: me.role, name: me.display_name };
    } else {
      throw new Error("this is a customer's token; sign in with an agent's, a supervisor's or the admin's");
    }
    sessionStorage.setItem(KEY, JSON.stringify({ token, agentId: given }));
    $("c-signin").classList.add("hidden");
    $("c-me").classList.remove("hidden");
    $("c-who").textContent = auth.role === "admin" ? "Signed in as admin"
      : auth.role === "supervisor" ? `${auth.name} (supervisor)` : `${auth.name} (${auth.agentId})`;
    $("c-nav").classList.remove("hidden");
    $("c-presence").classList.toggle("hidden", auth.role !== "agent");
    // nobody gets a tab that would only answer 403: supervisors watch the desk, only the admin edits policies
    $("c-tab-analytics").classList.toggle("hidden", auth.role === "agent");
    $("c-tab-live").classList.toggle("hidden", auth.role === "agent");
    $("c-policies").classList.toggle("hidden", auth.role !== "admin");
    if (auth.role === "agent") {
      showPresence();
      $("c-alerts").replaceChildren(...BatonNotify.controls());
      $("c-tab-desk").classList.remove("hidden");
      show("desk");
      api("GET", "/v1/saved-replies", token).then((r) => { savedReplies = r.teams; if (current) renderBrief(current); }).catch(() => {});
      pollWaiting();
      stream = new Stream(`/v1/agents/${encodeURIComponent(auth.agentId)}/ws`, token, {
        since: null, onEvent, onStatus,
      }).start();
      window.batonConsole.stream = stream;
    } else {
      $("c-tab-desk").classList.add("hidden");
      BatonLive.follow(auth, onStatus);
      show(auth.role === "admin" ? "analytics" : "live");  // the admin's other tab is one click away
    }
  }

  function onStatus(status) {
    $("c-conn").textContent = status === "open" ? "" : { connecting: "Connecting…", reconnecting: "Reconnecting…", down: "Connection lost, retrying…", offline: "Offline" }[status] || status;
    document.body.dataset.conn = status;
  }

  function show(view) {
    $("c-desk").classList.toggle("hidden", view !== "desk");
    $("c-analytics").classList.toggle("hidden", view !== "analytics");
    $("c-live").classList.toggle("hidden", view !== "live");
    $("c-tab-desk").setAttribute("aria-selected", String(view === "desk"));
    $("c-tab-analytics").setAttribute("aria-selected", String(view === "analytics"));
    $("c-tab-live").setAttribute("aria-selected", String(view === "live"));
    if (view === "live") BatonLive.render($("c-live"), auth); else BatonLive.stop();
    if (view === "analytics") BatonCharts.render($("c-charts"), auth).catch((err) => {
      $("c-charts").replaceChildren(el("p", { class: "error", role: "alert" }, err.status === 403 ? "Analytics need a supervisor's or the admin's token." : err.message));
    });
  }

  // -- presence --------------------------------------------------------------------------------
  function showPresence() {
    const online = presence === "online";
    const btn = $("c-presence");
    btn.textContent = online ? "Online · go away" : `${presence[0].toUpperCase()}${presence.slice(1)} · go online`;
    btn.setAttribute("aria-pressed", String(online));
    btn.classList.toggle("primary", !online);
  }

  async function togglePresence() {
    const next = presence === "online" ? "away" : "online";
    const agent = await api("PUT", `/v1/agents/${encodeURIComponent(auth.agentId)}/status`, auth.token, { status: next });
    presence = agent.status;
    showPresence();
  }

  // -- queue and my conversations ----------------------------------------------------------------
  /**
   * The state each (re)connection starts with (agent_state): presence, the offers and the
   * conversations held, as they are now. A held one that is gone ended while the socket was down.
   */
  function syncState(ev) {
    presence = ev.status;
    showPresence();
    offers.clear();
    const held = new Set();
    for (const h of ev.handoffs) {
      if (h.status === "offered") { offers.set(h.handoff_id, h); continue; }  // the fields of an offer event
      held.add(h.handoff_id);
      const entry = mine.get(h.handoff_id);
      if (entry) entry.status = h.status;
      else mine.set(h.handoff_id, { handoff_id: h.handoff_id, conversation_id: h.conversation_id, status: h.status, unread: 0, brief: h.brief });
    }
    for (const id of [...mine.keys()]) if (!held.has(id)) finish(id, "This conversation ended while you were offline.");
    renderQueue();
  }

  function secondsLeft(offer) {
    return offer.expires_at ? Math.max(0, Math.round((Date.parse(offer.expires_at) - Date.now()) / 1000)) : null;
  }

  function renderQueue() {
    const queue = $("c-queue");
    const items = [...offers.values()].sort((a, b) => b.priority - a.priority);
    queue.replaceChildren(...items.map((o) => {
      const left = secondsLeft(o);
      const summary = (o.brief && o.brief.summary) || o.reason || "New conversation";
      return el("li", { class: "queue-item", "data-handoff": o.handoff_id, "data-conversation": o.conversation_id },
        el("div", { class: "row" },
          el("strong", { class: "grow" }, `Priority ${o.priority}`),
          el("span", { class: "countdown", "aria-label": "seconds left to accept" }, left === null ? "" : `${left}s`)),
        el("div", { class: "meta" },
          el("span", { class: `pill ${o.urgency}` }, `urgency: ${o.urgency}`),
          ...(o.required_skills || []).map((s) => el("span", { class: "pill" }, s))),
        el("div", { class: "muted" }, summary),
        el("div", { class: "row", style: null },
          el("button", { class: "primary", type: "button", onclick: () => accept(o.handoff_id) }, "Accept"),
          el("button", { type: "button", onclick: () => decline(o.handoff_id) }, "Decline")));
    }));
    $("c-queue-empty").classList.toggle("hidden", items.length > 0);
    notifyCount();
    const list = $("c-mine");
    list.replaceChildren(...[...mine.values()].map((m) => el("li", {
      class: `queue-item ${current && current.handoff.handoff_id === m.handoff_id ? "selected" : ""}`,
    }, el("button", {
      type: "button", class: "grow", "data-handoff": m.handoff_id, onclick: () => open(m.handoff_id),
      "aria-label": `Open conversation ${m.conversation_id}${m.unread ? `, ${m.unread} new` : ""}`,
    }, ((m.brief && m.brief.goal) || m.conversation_id).slice(0, 60), m.unread ? ` (${m.unread} new)` : ""))));
  }

  /** Offers plus unread customer messages: the tab title and the favicon badge show it. */
  function notifyCount() {
    let unread = 0;
    for (const m of mine.values()) unread += m.unread;
    BatonNotify.setCount(offers.size + unread);
  }

  /** Handoffs waiting for anyone this agent could take (a missed offer among them), each with Pick. */
  async function pollWaiting() {
    clearTimeout(waitingTimer);
    if (!auth || auth.role !== "agent") return;
    try {
      const items = await api("GET", "/v1/desk/queue", auth.token);
      $("c-waiting").replaceChildren(...items.map((w) => {
        const wasMissed = w.missed || missed.has(w.handoff_id);
        const waited = w.waited_s < 90 ? `${Math.round(w.waited_s)}s` : `${Math.round(w.waited_s / 60)} min`;
        return el("li", { class: `queue-item${wasMissed ? " missed" : ""}`, "data-handoff": w.handoff_id, "data-conversation": w.conversation_id },
          el("div", { class: "row" },
            el("strong", { class: "grow" }, `Waiting ${waited}`),
            wasMissed ? el("span", { class: "pill missed" }, "missed") : null),
          el("div", { class: "meta" }, el("span", { class: `pill ${w.urgency}` }, `urgency: ${w.urgency}`),
            ...w.required_skills.map((k) => el("span", { class: "pill" }, k))),
          el("div", { class: "muted" }, w.summary || "New conversation"),
          el("button", { type: "button", class: "primary", onclick: () => accept(w.handoff_id) }, "Pick"));
      }));
      $("c-waiting-empty").classList.toggle("hidden", items.length > 0);
    } catch { /* shown again on the next poll */ }
    waitingTimer = setTimeout(pollWaiting, 4000);
  }

  setInterval(() => {
    for (const node of document.querySelectorAll("#c-queue .queue-item")) {
      const offer = offers.get(node.dataset.handoff);
      if (!offer) continue;
      const left = secondsLeft(offer);
      node.querySelector(".countdown").textContent = left === null ? "" : `${left}s`;
      if (left === 0) { offers.delete(offer.handoff_id); renderQueue(); }
    }
  }, 1000);

  async function accept(id) {
    $("c-error").textContent = "";
    try {
      const handoff = await api("POST", `/v1/handoffs/${id}/accept`, auth.token);
      const offer = offers.get(id);
      offers.delete(id);
      missed.delete(id);
      mine.set(id, { handoff_id: id, conversation_id: handoff.conversation_id, status: handoff.status, unread: 0, brief: (offer && offer.brief) || handoff.brief });
      renderQueue();
      pollWaiting();
      await open(id);
      $("c-text").focus();
    } catch (err) { $("c-error").textContent = `Could not accept: ${err.message}`; offers.delete(id); renderQueue(); }
  }

  async function decline(id) {
    try { await api("POST", `/v1/handoffs/${id}/decline`, auth.token, { reason: "declined in the console" }); }
    catch (err) { $("c-error").textContent = err.message; }
    offers.delete(id);
    renderQueue();
  }

  // -- brief (progressive disclosure) and transcript ---------------------------------------------
  async function open(id) {
    const detail = await api("GET", `/v1/handoffs/${id}`, auth.token);
    current = detail;
    const entry = mine.get(id);
    if (entry) entry.unread = 0;
    renderBrief(detail);
    transcript = new BatonBrief.Transcript($("c-transcript"), auth.agentId);
    transcript.reset(detail.transcript);
    renderActions();
    const cid = detail.handoff.conversation_id;
    BatonPanels.customer($("c-customer"), auth, cid);
    BatonPanels.notes($("c-notes-box"), auth, cid);
    const held = ["accepted", "active"].includes(detail.handoff.status);
    $("c-text").disabled = !held;
    $("c-send").disabled = !held;
    renderQueue();
  }

  /** The brief, with the generated openers and the team's saved replies that fill the composer. */
  function renderBrief(detail) {
    const insert = (text) => { const t = $("c-text"); t.value = text; t.focus(); };
    const openers = (detail.brief || {}).openers || [];
    BatonBrief.render($("c-brief"), detail, { extra: [
      el("h3", {}, "Suggested replies"),
      openers.length
        ? el("div", { class: "openers" }, ...openers.map((text) => el("button", { type: "button", onclick: () => insert(text) }, text)))
        : el("p", { class: "muted" }, "None."),
      el("h3", {}, "Saved replies"),
      BatonPanels.savedReplies(savedReplies, insert)] });
  }

  // -- actions -----------------------------------------------------------------------------------
  function actionForm(label, fields, submit, danger) {
    return BatonPanels.actionForm(label, fields, async (data) => {
      $("c-error").textContent = "";
      try { await submit(data); } catch (err) { $("c-error").textContent = err.message; }
    }, danger);
  }

  function renderActions() {
    const box = $("c-actions");
    const held = current && ["accepted", "active"].includes(current.handoff.status);
    if (!held) { box.replaceChildren(); return; }
    const id = current.handoff.handoff_id;
    const done = (what) => { finish(id, what); };
    box.replaceChildren(
      BatonPanels.transferForm(auth, async (body) => {
        $("c-error").textContent = "";
        try {
          await api("POST", `/v1/handoffs/${id}/transfer`, auth.token, body);
          done("Transferred.");
        } catch (err) { $("c-error").textContent = err.message; }
      }),
      actionForm("Return to AI", [["note", "note", "Note for the assistant", "Valuation visit booked Friday 10am"]], async (d) => {
        await api("POST", `/v1/handoffs/${id}/return`, auth.token, { note: d.note || "" });
        done("Returned to the AI.");
      }),
      actionForm("Complete", [["complete-note", "note", "Notes", "resolved"], ["complete-text", "text", "Last message to the customer (optional)", ""]], async (d) => {
        await api("POST", `/v1/handoffs/${id}/complete`, auth.token, { note: d.note || "", text: d.text || "" });
        done("Completed.");
      }, true));
  }

  function finish(id, message) {
    mine.delete(id);
    if (current && current.handoff.handoff_id === id) {
      current.handoff.status = "done";
      $("c-text").disabled = true; $("c-send").disabled = true;
      $("c-actions").replaceChildren(el("p", { class: "notice", role: "status" }, message));
    }
    renderQueue();
  }

  async function send() {
    const text = $("c-text").value.trim();
    if (!text || !current) return;
    $("c-error").textContent = "";
    try {
      await api("POST", `/v1/handoffs/${current.handoff.handoff_id}/reply`, auth.token, { text });
      $("c-text").value = "";
      lastTyping = 0;  // the next keystroke starts a new "typing" signal
      current.handoff.status = "active";
    } catch (err) { $("c-error").textContent = `Not sent: ${err.message}`; }
  }

  // -- live events ------------------------------------------------------------------------------
  function onEvent(ev) {
    const isCurrent = current && ev.conversation_id === current.handoff.conversation_id;
    switch (ev.type) {
      case "offer":
        if (ev.expires_at && Date.parse(ev.expires_at) < Date.now()) break;
        if (!offers.has(ev.handoff_id)) BatonNotify.alert("New conversation offered", (ev.brief && ev.brief.summary) || ev.reason || "", ev.handoff_id, ev.priority);
        offers.set(ev.handoff_id, ev);
        renderQueue();
        break;
      case "transfer_request":
        $("c-error").textContent = "";
        document.getElementById("c-queue-h").textContent = "Queue (transfer incoming)";
        break;
      case "customer_message": case "agent_message": case "bot_message": {
        if (isCurrent) {
          const role = ev.type === "customer_message" ? "customer" : ev.type === "agent_message" ? "agent" : (ev.role || "bot");
          transcript.add(role, ev.type === "agent_message" ? ev.agent_id : ev.speaker, ev.text);
          if (ev.type === "customer_message") $("c-typing").textContent = "";
        }
        const entry = [...mine.values()].find((m) => m.conversation_id === ev.conversation_id);
        // unread: another conversation, or this one while the tab is in the background
        if (entry && ev.type === "customer_message" && (!isCurrent || document.visibilityState !== "visible")) {
          entry.unread += 1;
          renderQueue();
          BatonNotify.alert("New message from a customer", ev.text, ev.conversation_id);
        }
        break;
      }
      case "agent_state":
        syncState(ev);
        break;
      case "note_added":  // a colleague's (or a supervisor's) note: shown if that conversation is open
        BatonPanels.noteAdded(ev.note);
        break;
      case "handoff_state":  // withdrawn, or accepted (here or in another tab): no longer an offer
        if (ev.state === "offer_withdrawn" && ev.message === "accept_timeout") {
          missed.add(ev.handoff_id);  // still waiting: shown as missed under "Waiting", with Pick
          $("c-error").textContent = "You missed an offer; it is still waiting — pick it from the list if you can take it.";
          pollWaiting();
        }
        if (["offer_withdrawn", "accepted", "active"].includes(ev.state)) { offers.delete(ev.handoff_id); renderQueue(); }
        if (ev.state === "reassigned" && mine.has(ev.handoff_id)) finish(ev.handoff_id, ev.message || "A supervisor moved this conversation.");
        break;
      case "handoff_complete":
        if (mine.has(ev.handoff_id)) finish(ev.handoff_id, `Conversation ${ev.outcome.replace(/_/g, " ")}.`);
        break;
      case "typing":
        if (isCurrent && ev.role === "customer") {
          $("c-typing").textContent = "Customer is typing…";
          clearTimeout(typingTimer);
          typingTimer = setTimeout(() => { $("c-typing").textContent = ""; }, 4000);
        }
        break;
      case "error":
        $("c-error").textContent = ev.message;
        break;
      default:
        break;
    }
  }

  // -- wiring ----------------------------------------------------------------------------------
  $("c-signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("c-signin-error").textContent = "";
    try { await signIn($("c-token").value.trim(), $("c-agent").value.trim()); }
    catch (err) { $("c-signin-error").textContent = `Sign-in failed: ${err.message}`; }
  });
  $("c-signout").addEventListener("click", () => { sessionStorage.removeItem(KEY); location.reload(); });
  $("c-presence").addEventListener("click", () => togglePresence().catch((err) => { $("c-error").textContent = err.message; }));
  $("c-tab-desk").addEventListener("click", () => show("desk"));
  $("c-tab-analytics").addEventListener("click", () => show("analytics"));
  $("c-tab-live").addEventListener("click", () => show("live"));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible" || !current) return;
    const entry = mine.get(current.handoff.handoff_id);
    if (entry && entry.unread) { entry.unread = 0; renderQueue(); }
  });
  $("c-composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("c-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
  });
  $("c-text").addEventListener("input", () => {
    const now = Date.now();
    if (stream && current && now - lastTyping > 2000) {
      lastTyping = now;
      stream.send({ type: "typing", handoff_id: current.handoff.handoff_id });
    }
  });

  window.batonConsole = { stream: null };
  const saved = (() => { try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { return null; } })();
  if (saved && saved.token) signIn(saved.token, saved.agentId).catch(() => sessionStorage.removeItem(KEY));
})();

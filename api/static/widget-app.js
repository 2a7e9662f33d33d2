/* The customer chat widget: talks to the bot, narrates handoffs, follows the conversation live. */
"use strict";

(() => {
  const { el, api, Stream, speakerName, fmtWait } = Baton;
  const KEY = "baton.widget";
  const $ = (id) => document.getElementById(id);
  const list = $("w-messages"), input = $("w-input"), form = $("w-form");
  const typingLine = $("w-typing"), queueBox = $("w-queue"), csatBox = $("w-csat");
  const errorBox = $("w-error"), connLine = $("w-conn"), dot = $("w-dot"), withLine = $("w-with");

  let session = null;  // {cid, token}
  let stream = null;
  let pending = [];  // optimistic customer bubbles waiting for their customer_message event
  let typingTimer = null, lastTypingSent = 0, rated = false;

  const save = () => sessionStorage.setItem(KEY, JSON.stringify({ ...session, rated }));
  function load() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { return null; }
  }

  function scroll() { list.scrollTop = list.scrollHeight; }

  function addMessage(role, speaker, text, extra) {
    const who = role === "system" ? "" : speakerName(speaker, role);
    const item = el("li", { class: `msg ${role} ${extra || ""}`.trim() },
      who ? el("div", { class: "who" }, who) : null,
      el("div", { class: "bubble" }, text));
    list.append(item);
    scroll();
    return item;
  }

  /** The bot often narrates the handoff itself; the state event then carries the same sentence. */
  function recentlySaid(text) {
    return [...list.querySelectorAll(".msg .bubble")].slice(-3).some((b) => b.textContent === text);
  }

  function setWith(role, speaker) {
    withLine.textContent = role === "agent" ? "You're chatting with one of our agents"
      : `You're chatting with our ${speakerName(speaker, "bot").toLowerCase()}`;
  }

  function showQueue(event) {
    if (event.queue_position === null || event.queue_position === undefined) return;
    const where = event.queue_position > 0 ? `You're number ${event.queue_position} in line` : "An agent is being connected";
    const wait = event.expected_wait_s ? ` · expected wait ${fmtWait(event.expected_wait_s)}` : "";
    queueBox.textContent = `${where}${wait}. Keep this window open; you can keep typing.`;
    queueBox.classList.remove("hidden");
  }

  /** The state a (re)connection starts with: where the handoff stands now (it says nothing new). */
  function syncState(event) {
    if (["accepted", "active"].includes(event.state)) { queueBox.classList.add("hidden"); setWith("agent"); }
    else if (["pending", "offered"].includes(event.state)) showQueue(event);
    else queueBox.classList.add("hidden");
  }

  function showCsat() {
    if (rated) return;
    const stars = csatBox.querySelector(".stars");
    stars.replaceChildren(...[1, 2, 3, 4, 5].map((n) => el("button", {
      type: "button", "aria-label": `Rate ${n} out of 5`, text: `${n} ★`,
      onclick: () => rate(n),
    })));
    csatBox.classList.remove("hidden");
  }

  async function rate(n) {
    try {
      await api("POST", `/v1/conversations/${session.cid}/csat`, session.token, { rating: n, comment: "" });
      rated = true; save();
      csatBox.replaceChildren(el("div", { role: "status" }, `Thanks for rating us ${n}/5.`));
    } catch (err) { errorBox.textContent = err.message; }
  }

  function onEvent(event) {
    switch (event.type) {
      case "customer_message": {
        const mine = pending.findIndex((p) => p.text === event.text);
        if (mine >= 0) { pending[mine].node.classList.remove("pending"); pending.splice(mine, 1); }
        else addMessage("customer", "customer", event.text);
        break;
      }
      case "bot_message":
        addMessage(event.role === "system" ? "system" : "bot", event.speaker, event.text);
        if (event.role !== "system") setWith("bot", event.speaker);
        typingLine.textContent = "";
        break;
      case "agent_message":
        addMessage("agent", "human_agent", event.text);
        setWith("agent");
        typingLine.textContent = "";
        break;
      case "handoff_state":
        if (event.snapshot) { syncState(event); break; }
        if (event.message && !recentlySaid(event.message)) addMessage("system", "system", event.message);
        if (["accepted", "active"].includes(event.state)) { queueBox.classList.add("hidden"); setWith("agent"); }
        else if (["pending", "offered"].includes(event.state)) showQueue(event);
        else if (["rolled_back", "cancelled", "expired"].includes(event.state)) queueBox.classList.add("hidden");
        break;
      case "handoff_complete":
        queueBox.classList.add("hidden");
        if (event.outcome !== "completed") {  // back with a bot: the bot's own message named it already
          const last = [...list.querySelectorAll(".msg.bot .who")].at(-1);
          withLine.textContent = `You're back with our ${last ? last.textContent.toLowerCase() : "assistant"}`;
        }
        showCsat();
        break;
      case "typing":
        if (event.role === "customer") break;
        typingLine.textContent = `${event.role === "agent" ? "Agent" : "Assistant"} is typing…`;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => { typingLine.textContent = ""; }, 4000);
        break;
      case "error":
        errorBox.textContent = event.message;
        break;
      default:
        break;
    }
  }

  function onStatus(status) {
    const labels = { open: "", connecting: "Connecting…", reconnecting: "Reconnecting…", down: "Connection lost, retrying…", offline: "You're offline; we'll reconnect" };
    connLine.textContent = labels[status] ?? "";
    dot.classList.toggle("down", status !== "open");
    document.body.dataset.conn = status;
  }

  function follow(since) {
    if (stream) stream.stop();
    stream = new Stream(`/v1/conversations/${session.cid}/ws`, session.token, { since, onEvent, onStatus }).start();
    window.batonWidget.stream = stream;
  }

  async function resume(saved) {
    session = { cid: saved.cid, token: saved.token }; rated = Boolean(saved.rated);
    const view = await api("GET", `/v1/conversations/${session.cid}`, session.token);
    for (const turn of view.transcript) addMessage(turn.role, turn.speaker, turn.text);
    const last = [...view.transcript].reverse().find((t) => t.role === "bot" || t.role === "agent");
    if (view.status === "human" || view.agent_id) setWith("agent");
    else if (last) setWith(last.role, last.speaker);
    if (view.status === "closed") showCsat();
    follow(view.seq);
  }

  async function start() {
    const created = await api("POST", "/v1/conversations", null, {});
    session = { cid: created.conversation_id, token: created.customer_token }; rated = false;
    save();
    follow(0);
  }

  /** Post a turn; while the service sheds load (503) wait its Retry-After and send again. */
  async function postTurn(text) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await api("POST", `/v1/conversations/${session.cid}/messages`, session.token, { text });
      } catch (err) {
        if (err.status !== 503 || attempt >= 5) throw err;
        typingLine.textContent = "We're busy; sending again in a moment…";
        await new Promise((r) => setTimeout(r, Math.max(1, err.retryAfter) * 1000));
        typingLine.textContent = "Assistant is typing…";
      }
    }
  }

  async function send(text) {
    errorBox.textContent = "";
    if (!session) await start();
    const node = addMessage("customer", "customer", text, "pending");
    pending.push({ text, node });
    typingLine.textContent = "Assistant is typing…";
    try {
      const out = await postTurn(text);
      // The socket delivers the turn; if it is down, reconnecting with ?since= fetches what it missed.
      if (stream && stream.seq < out.seq && !stream.ws) stream._connectSoon(0);
      if (out.handoff && out.handoff.kind === "human") showQueue(out.handoff);
    } catch (err) {
      node.classList.add("failed");
      errorBox.textContent = `Not sent: ${err.message}`;
      pending = pending.filter((p) => p.node !== node);
      typingLine.textContent = "";
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    lastTypingSent = 0;
    send(text);
  });
  input.addEventListener("input", () => {
    const now = Date.now();
    if (stream && now - lastTypingSent > 2000) { lastTypingSent = now; stream.send({ type: "typing" }); }
  });
  $("w-new").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    if (stream) stream.stop();
    stream = null; session = null; pending = []; rated = false;
    list.replaceChildren(); queueBox.classList.add("hidden"); csatBox.classList.add("hidden");
    setWith("bot", "concierge_bot");
    greet();
    input.focus();
  });

  function greet() {
    addMessage("bot", "concierge_bot", "Hi! How can we help today?", "greeting");
  }

  window.batonWidget = { stream: null, session: () => session };
  const saved = load();
  if (saved && saved.cid && saved.token) {
    resume(saved).catch((err) => {
      sessionStorage.removeItem(KEY); session = null;
      errorBox.textContent = `Could not resume the conversation (${err.message}); starting a new one.`;
      greet();
    });
  } else {
    greet();
  }
})();

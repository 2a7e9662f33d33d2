/* The customer chat widget: talks to the bot, narrates handoffs, follows the conversation live.
 *
 * The transcript is the conversation's event stream: a fresh chat follows it from now, a reload replays
 * it from the start (?since=0), so greeting, messages and state lines ("Maria from our sales team joined
 * the chat.") come back exactly as they were shown. The waiting panel lives in widget-queue.js. Other
 * modules (a voice button) hook in through window.batonWidget: send(text), on(fn) for every event. */
"use strict";

(() => {
  const { el, api, Stream, speakerName } = Baton;
  const KEY = "baton.widget";
  const GREETING = "Hi! How can we help today?";
  const $ = (id) => document.getElementById(id);
  const list = $("w-messages"), input = $("w-input"), form = $("w-form");
  const typingLine = $("w-typing"), csatBox = $("w-csat"), confirmBox = $("w-confirm");
  const errorBox = $("w-error"), connLine = $("w-conn"), dot = $("w-dot"), withLine = $("w-with");

  let session = null;  // {cid, token}
  let stream = null;
  let pending = [];  // optimistic customer bubbles waiting for their customer_message event
  let typingTimer = null, lastTypingSent = 0, rated = false;
  let mode = "bot";  // bot | waiting | agent | ended: who answers the customer now
  let lastBot = "concierge_bot";  // the bot that spoke last (who answers once a person is gone)
  const agentNames = {};  // agent id -> display name, from the "joined" state events
  const listeners = [];

  const save = () => sessionStorage.setItem(KEY, JSON.stringify({ ...session, rated }));
  function load() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { return null; }
  }

  function scroll() { list.scrollTop = list.scrollHeight; }

  function addMessage(role, who, text, extra) {
    const item = el("li", { class: `msg ${role} ${extra || ""}`.trim() },
      who ? el("div", { class: "who" }, who) : null,
      el("div", { class: "bubble" }, text));
    list.append(item);
    scroll();
    return item;
  }

  /** The bot says the narration; streams recorded before it was sent once also carried it on the
   *  state event, so a reload of such a chat shows it once. */
  function recentlySaid(text) {
    return [...list.querySelectorAll(".msg .bubble")].slice(-3).some((b) => b.textContent === text);
  }

  function typing(text) {
    clearTimeout(typingTimer);
    typingLine.textContent = text || "";
  }

  function setMode(next, name) {
    mode = next;
    if (next === "agent") withLine.textContent = name ? `You're chatting with ${name}` : "You're chatting with one of our agents";
    else if (next === "waiting") withLine.textContent = "Waiting for an agent · our assistant is still here";
    else if (next === "ended") withLine.textContent = "The agent has finished · our assistant is here if you need more";
    if (next !== "bot") typing("");
    document.body.dataset.mode = next;
  }

  function setBot(speaker) {
    lastBot = speaker || lastBot;
    mode = "bot";
    document.body.dataset.mode = "bot";
    withLine.textContent = `You're chatting with our ${speakerName(lastBot, "bot").toLowerCase()}`;
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

  /** Where the handoff stands (a live change, or the snapshot a connection starts with). */
  function onState(event) {
    if (event.agent_id && event.agent_name) agentNames[event.agent_id] = event.agent_name;
    if (["accepted", "active"].includes(event.state)) setMode("agent", agentNames[event.agent_id]);
    else if (["pending", "offered", "transferred"].includes(event.state)) setMode("waiting");
    if (!event.snapshot && event.message && !recentlySaid(event.message)) addMessage("system", "", event.message);
    BatonQueue.refresh();
  }

  function onEvent(event) {
    switch (event.type) {
      case "customer_message": {
        const mine = pending.findIndex((p) => p.text === event.text);
        if (mine >= 0) { pending[mine].node.classList.remove("pending"); pending.splice(mine, 1); }
        else addMessage("customer", "You", event.text);
        break;
      }
      case "bot_message":
        if (event.role === "system") break;  // never shown to customers (the server sends none)
        addMessage("bot", speakerName(event.speaker, "bot"), event.text);
        lastBot = event.speaker || lastBot;
        if (mode === "bot" || mode === "ended") setBot(event.speaker);
        typing("");
        break;
      case "agent_message":
        addMessage("agent", agentNames[event.agent_id] || "Agent", event.text);
        setMode("agent", agentNames[event.agent_id]);
        break;
      case "handoff_state":
        if (event.kind === "bot") break;  // a bot-to-bot handoff: the bots' own lines say it
        onState(event);
        break;
      case "handoff_complete":
        if (event.outcome === "completed") { setMode("ended"); showCsat(); }
        else {
          setBot(lastBot);
          withLine.textContent = `You're back with our ${speakerName(lastBot, "bot").toLowerCase()}`;
          if (event.outcome === "returned_to_ai") showCsat();
        }
        BatonQueue.refresh();
        break;
      case "typing":
        if (event.role === "customer" || (event.role !== "agent" && mode !== "bot")) break;
        typing(`${event.role === "agent" ? agentNames[event.agent_id] || "Agent" : "Assistant"} is typing…`);
        typingTimer = setTimeout(() => { typingLine.textContent = ""; }, 4000);
        break;
      case "error":
        errorBox.textContent = event.message;
        break;
      default:
        break;
    }
    for (const fn of listeners) fn(event);
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

  /** A reload: the whole history again, from the stream's first event. */
  async function resume(saved) {
    session = { cid: saved.cid, token: saved.token }; rated = Boolean(saved.rated);
    const view = await api("GET", `/v1/conversations/${session.cid}`, session.token);  // 404: start over
    greet();
    if (view.status === "closed") showCsat();
    follow(0);
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
        typing("We're busy; sending again in a moment…");
        await new Promise((r) => setTimeout(r, Math.max(1, err.retryAfter) * 1000));
        typing("Assistant is typing…");
      }
    }
  }

  async function send(text) {
    errorBox.textContent = "";
    if (!session) await start();
    const node = addMessage("customer", "You", text, "pending");
    pending.push({ text, node });
    if (mode === "bot" || mode === "ended") typing("Assistant is typing…");  // nobody types for a queue
    try {
      const out = await postTurn(text);
      // The socket delivers the turn; if it is down, reconnecting with ?since= fetches what it missed.
      if (stream && stream.seq < out.seq && !stream.ws) stream._connectSoon(0);
      if (out.handoff && out.handoff.kind === "human") { setMode("waiting"); BatonQueue.refresh(); }
    } catch (err) {
      node.classList.add("failed");
      errorBox.textContent = `Not sent: ${err.message}`;
      pending = pending.filter((p) => p.node !== node);
    } finally {
      if (typingLine.textContent === "Assistant is typing…") typing("");  // the run is over either way
    }
  }

  function reset() {
    sessionStorage.removeItem(KEY);
    if (stream) stream.stop();
    stream = null; session = null; pending = []; rated = false;
    list.replaceChildren(); csatBox.classList.add("hidden"); confirmBox.classList.add("hidden");
    BatonQueue.reset();
    setBot("concierge_bot");
    Object.keys(agentNames).forEach((k) => delete agentNames[k]);
    typing("");
    greet();
    input.focus();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    lastTypingSent = 0;
    send(text);
  });
  // The HTML ships the composer disabled: an Enter before this line would submit the form natively, a
  // reload that loses what the customer typed (a slow iframe on a busy page).
  form.querySelectorAll("input, button").forEach((node) => { node.disabled = false; });
  input.addEventListener("input", () => {
    const now = Date.now();
    if (stream && now - lastTypingSent > 2000) { lastTypingSent = now; stream.send({ type: "typing" }); }
  });
  // "New chat" while waiting would leave an agent an offer from an abandoned chat: ask, then withdraw.
  $("w-new").addEventListener("click", async () => {
    const state = session ? (await BatonQueue.refresh()).state : "none";
    if (!["waiting", "offered"].includes(state)) { reset(); return; }
    confirmBox.classList.remove("hidden");
    $("w-confirm-yes").focus();
  });
  $("w-confirm-yes").addEventListener("click", async () => {
    await BatonQueue.leave();
    reset();
  });
  $("w-confirm-no").addEventListener("click", () => { confirmBox.classList.add("hidden"); input.focus(); });

  function greet() {
    addMessage("bot", speakerName("concierge_bot", "bot"), GREETING, "greeting");
  }

  window.batonWidget = {
    stream: null,
    session: () => session,
    ensure: async () => { if (!session) await start(); return session; },  // the voice button's hook
    send,
    on: (fn) => { listeners.push(fn); },
  };
  BatonQueue.attach({
    session: () => session,
    onState: (status) => {
      if (["waiting", "offered"].includes(status.state)) setMode("waiting");
      else if (status.state === "with_agent") setMode("agent", status.agent_name);
      else if (mode === "waiting") setBot(lastBot);
    },
  });
  const saved = load();
  if (saved && saved.cid && saved.token) {
    resume(saved).catch((err) => {
      sessionStorage.removeItem(KEY); session = null;
      list.replaceChildren();
      errorBox.textContent = `Could not resume the conversation (${err.message}); starting a new one.`;
      greet();
    });
  } else {
    greet();
  }
})();

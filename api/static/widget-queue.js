/* The widget's waiting panel: where the customer stands (position and the desk's wait estimate, read
 * from GET /v1/conversations/{id}/queue, the one source), leave the queue, or ask for a callback with a
 * phone number or e-mail address. widget-app.js calls refresh() on every handoff state change. */
"use strict";

const BatonQueue = (() => {
  const { el, api, fmtWait } = Baton;
  const $ = (id) => document.getElementById(id);
  let ctx = null;  // {session: () => {cid, token}, onState: (status) => void}
  let status = { state: "none" };
  let timer = null;
  let busy = false;

  const box = () => $("w-queue");

  function text(s) {
    if (s.callback && !s.callback.contact_needed && s.state === "callback") {
      return `We'll call you back at ${s.callback.contact}. You can keep chatting with our assistant meanwhile.`;
    }
    if (s.state === "callback") return "One of our agents will call you back. How can we reach you?";
    if (s.state === "offered") {
      return `An agent is about to join · expected wait ${fmtWait(s.expected_wait_s)}.`;
    }
    if (s.expected_wait_s === null || s.expected_wait_s === undefined) {
      return `You're number ${s.position} in line. No agent is free to take your chat yet: you can wait, ` +
        "leave the queue and keep chatting with our assistant, or ask for a callback.";
    }
    return `You're number ${s.position} in line · expected wait ${fmtWait(s.expected_wait_s)}. ` +
      "You can keep typing.";
  }

  function render() {
    const panel = box();
    const waiting = ["waiting", "offered"].includes(status.state);
    const needsContact = status.callback && status.callback.contact_needed;
    const promised = status.state === "callback" && status.callback && !needsContact;
    panel.classList.toggle("hidden", !(waiting || needsContact || promised));
    panel.dataset.state = status.state;
    $("w-queue-text").textContent = waiting || needsContact || promised ? text(status) : "";
    $("w-queue-actions").classList.toggle("hidden", !waiting);
    const form = $("w-cb-form");
    if (needsContact) form.classList.remove("hidden");
    else if (!waiting) form.classList.add("hidden");
    clearTimeout(timer);
    if (waiting) timer = setTimeout(refresh, 5000);  // the estimate moves while the customer waits
  }

  /** Ask the server where the customer stands now and show it. Every call gets a fetch that starts
   * after it; calls made while that fetch has not started yet share it (a reload replays every state
   * event of the conversation at once), and fetches never overlap. */
  let chain = Promise.resolve(), next = null;
  function refresh() {
    if (next) return next;
    next = chain.then(() => { next = null; return fetchStatus(); });
    chain = next.catch(() => {});
    return next;
  }

  async function fetchStatus() {
    const session = ctx && ctx.session();
    if (!session) { status = { state: "none" }; render(); return status; }
    try {
      status = await api("GET", `/v1/conversations/${session.cid}/queue`, session.token);
    } catch (err) {
      if (err.status === 404) status = { state: "none" };
    }
    render();
    ctx.onState(status);
    return status;
  }

  /** Withdraw the handoff; the assistant carries on (its one line arrives on the stream). */
  async function leave() {
    const session = ctx.session();
    if (!session || busy) return;
    busy = true;
    try {
      status = await api("POST", `/v1/conversations/${session.cid}/queue/leave`, session.token);
    } catch (err) {
      if (err.code !== "not_waiting") $("w-error").textContent = err.message;
    } finally { busy = false; }
    render();
    ctx.onState(status);
  }

  async function sendContact(event) {
    event.preventDefault();
    const session = ctx.session();
    const input = $("w-cb-contact"), error = $("w-cb-error");
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    if (!session || busy) return;
    busy = true;
    try {
      await api("POST", `/v1/conversations/${session.cid}/callback`, session.token, { contact: input.value });
      input.value = "";
      $("w-cb-form").classList.add("hidden");
      await refresh();
    } catch (err) {
      error.textContent = err.message;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    } finally { busy = false; }
  }

  function askContact() {
    $("w-cb-form").classList.remove("hidden");
    $("w-cb-contact").focus();
  }

  /** Wire the panel's controls once. */
  function attach(context) {
    ctx = context;
    $("w-leave").addEventListener("click", leave);
    $("w-callback").addEventListener("click", askContact);
    $("w-cb-form").addEventListener("submit", sendContact);
  }

  function reset() {
    clearTimeout(timer);
    status = { state: "none" };
    $("w-cb-form").classList.add("hidden");
    $("w-cb-error").textContent = "";
    render();
  }

  return { attach, refresh, leave, reset, current: () => status };
})();

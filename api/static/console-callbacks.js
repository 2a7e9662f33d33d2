/* Callbacks in the agent console: a panel of its own under the queue (the console hooks it in with one
 * script tag). Lists open callbacks and the agent's taken ones (GET /v1/callbacks), take one, record the
 * outcome. It reads the console's sign-in from sessionStorage and refreshes every 10 s. */
"use strict";

(() => {
  const { el, api } = Baton;
  const KEY = "baton.console";
  const OUTCOMES = [
    ["reached", "Reached the customer"],
    ["resolved", "Resolved another way"],
    ["no_answer", "No answer"],
    ["wrong_contact", "Wrong number or address"],
    ["not_needed", "No longer needed"],
  ];
  let panel = null, timer = null;

  function signedIn() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { return null; }
  }

  function ago(unix) {
    const minutes = Math.max(0, Math.round((Date.now() / 1000 - unix) / 60));
    return minutes < 1 ? "just now" : `${minutes} min ago`;
  }

  function item(cb, me) {
    const contact = cb.contact ? cb.contact.value : "waiting for the customer's contact";
    const why = cb.reason === "requested" ? "asked for a callback" : "no agent was free";
    const actions = el("div", { class: "cb-actions" });
    if (cb.status === "open" && cb.contact) {
      actions.append(el("button", { type: "button", class: "primary", text: "Take", onclick: () => act(cb, "take") }));
    } else if (cb.status === "taken" && cb.agent_id === me) {
      const select = el("select", { "aria-label": "Outcome", id: `cb-out-${cb.id}` },
        OUTCOMES.map(([value, label]) => el("option", { value }, label)));
      const note = el("input", { "aria-label": "Note for the team", placeholder: "Note (optional)", maxlength: "2000" });
      actions.append(select, note, el("button", {
        type: "button", class: "primary", text: "Complete",
        onclick: () => act(cb, "complete", { outcome: select.value, note: note.value }),
      }));
    } else if (cb.status === "taken") {
      actions.append(el("span", { class: "muted" }, `taken by ${cb.agent_id}`));
    }
    return el("li", { class: "queue-item callback", "data-id": cb.id, "data-status": cb.status },
      el("div", {}, el("strong", {}, contact)),
      el("div", { class: "muted" }, `${why} · ${ago(cb.created_at)}`),
      cb.summary ? el("div", {}, cb.summary) : null,
      actions);
  }

  async function act(cb, action, body) {
    const session = signedIn();
    const status = panel.querySelector(".cb-status");
    try {
      await api("POST", `/v1/callbacks/${cb.id}/${action}`, session.token, body);
      status.textContent = action === "take" ? "Callback taken: call the customer, then record the outcome." : "Outcome recorded.";
    } catch (err) { status.textContent = err.message; }
    refresh();
  }

  async function refresh() {
    const session = signedIn();
    if (!session || !session.token || !panel) return;
    try {
      const all = await api("GET", "/v1/callbacks", session.token);
      const shown = all.filter((c) => c.status === "open" || (c.status === "taken" && c.agent_id === session.agentId));
      const list = panel.querySelector("ul");
      list.replaceChildren(...shown.map((c) => item(c, session.agentId)));
      panel.querySelector(".cb-empty").classList.toggle("hidden", shown.length > 0);
      panel.querySelector("h2").textContent = `Callbacks (${shown.filter((c) => c.status === "open").length} open)`;
    } catch (err) {
      if (err.status === 403) { panel.remove(); panel = null; }
    }
  }

  function mount() {
    const desk = document.getElementById("c-desk");
    const queue = document.getElementById("c-queue");
    if (panel || !desk || desk.classList.contains("hidden") || !queue) return;
    panel = el("section", { class: "callbacks", id: "c-callbacks", "aria-labelledby": "c-cb-h" },
      el("h2", { id: "c-cb-h" }, "Callbacks"),
      el("p", { class: "muted cb-empty" }, "No callbacks to make."),
      el("ul", { class: "queue-list", "aria-live": "polite" }),
      el("div", { class: "cb-status", role: "status" }));
    queue.closest("aside").append(panel);
    refresh();
    clearInterval(timer);
    timer = setInterval(refresh, 10000);
  }

  window.addEventListener("DOMContentLoaded", () => {
    const desk = document.getElementById("c-desk");
    if (!desk) return;
    new MutationObserver(mount).observe(desk, { attributes: true, attributeFilter: ["class"] });
    mount();
  });
  window.batonCallbacks = { refresh };
})();

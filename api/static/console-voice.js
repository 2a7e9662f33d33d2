/* The console marks a voice conversation's customer turns: 🎤 and, when the recogniser was unsure,
 * "to confirm" with its confidence (the voice socket's voice_heard event follows each spoken turn on
 * the agent's stream). Hooks into window.batonConsole.stream, which the console replaces on sign-in. */
"use strict";

(() => {
  const wrapped = new WeakSet();
  const mark = (ev) => {
    const bubbles = [...document.querySelectorAll("#c-transcript .msg.agent-view-customer .bubble")];
    const bubble = bubbles.reverse().find((b) => b.textContent === ev.text && !b.dataset.channel);
    if (!bubble) return;
    bubble.dataset.channel = "voice";
    const note = ev.to_confirm ? ` · to confirm (${ev.confidence})` : "";
    bubble.parentElement.querySelector(".who").append(` · 🎤 voice${note}`);
    if (ev.to_confirm) bubble.parentElement.classList.add("to-confirm");
  };
  setInterval(() => {
    const stream = window.batonConsole && window.batonConsole.stream;
    if (!stream || wrapped.has(stream)) return;
    wrapped.add(stream);
    const inner = stream.onEvent;
    stream.onEvent = (ev) => { inner(ev); if (ev.type === "voice_heard") mark(ev); };
  }, 300);
})();

/* The widget's microphone: talk to the bots and the agents, hear their replies.
 *
 * A click opens the conversation's voice socket (/v1/conversations/{id}/voice, token in the first
 * message) and streams the microphone as 16-bit PCM at 16 kHz (Web Audio resamples; the server's voice
 * activity detection needs the audio as it is spoken, so it is sent raw, not as MediaRecorder's Opus).
 * The server ends each turn at the caller's pause, posts it as a normal customer turn (it shows in the
 * chat like a typed one, marked as spoken) and sends every line to hear as a WAV, played in order.
 * Speaking over a reply stops it (the server's voice.barge_in). A second click stops the microphone.
 * State for styling and tests: body[data-voice] = off | connecting | listening | speaking. */
"use strict";

(() => {
  const widget = window.batonWidget;
  const form = document.getElementById("w-form");
  if (!widget || !form || !navigator.mediaDevices) return;

  const button = Baton.el("button", {
    type: "button", id: "w-mic", class: "mic", "aria-pressed": "false", title: "Talk instead of typing",
  }, "🎤");
  const status = Baton.el("span", { class: "sr-only", id: "w-mic-status", role: "status", "aria-live": "polite" });
  form.insertBefore(button, form.querySelector("button[type=submit]"));
  document.head.append(Baton.el("style", {},
    ".msg.customer.spoken .bubble::before { content: '🎤 '; }",
    "body[data-voice=listening] #w-mic, body[data-voice=speaking] #w-mic { background: #c62828; color: #fff; }"));
  form.append(status);

  let ws = null, mic = null, ctx = null, node = null;
  const queue = [];  // Audio elements waiting to play
  let playing = null;
  const heard = [];  // transcripts not yet matched to their chat bubble
  const played = [];  // what was played, for the page's own tests and support
  const log = [];  // the voice socket's own events (transcripts, barge-ins, errors), newest last
  window.batonVoice = { played, log, state: () => document.body.dataset.voice || "off" };

  function setState(state, text) {
    document.body.dataset.voice = state;
    button.setAttribute("aria-pressed", String(state !== "off"));
    status.textContent = text || "";
  }
  setState("off");

  function playNext() {
    if (playing || !queue.length) {
      if (!playing && ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "voice.playback_done" }));
      if (!playing && mic) setState("listening", "Listening");
      return;
    }
    const audio = queue.shift();
    playing = audio;
    setState("speaking", "Speaking");
    const done = () => {  // once per clip, and only while it is still the one playing (not after a barge-in)
      audio.onended = null; audio.onerror = null;
      if (playing !== audio) return;
      URL.revokeObjectURL(audio.src); playing = null; playNext();
    };
    audio.onended = done;
    audio.onerror = done;
    audio.play().catch(done);
  }

  function stopPlayback() {
    queue.splice(0).forEach((a) => URL.revokeObjectURL(a.src));
    if (playing) { const audio = playing; playing = null; audio.pause(); URL.revokeObjectURL(audio.src); }
  }

  function enqueue(event) {
    const bytes = Uint8Array.from(atob(event.audio), (c) => c.charCodeAt(0));
    const audio = new Audio(URL.createObjectURL(new Blob([bytes], { type: event.mime })));
    played.push({ text: event.text, for: event.for, seconds: event.seconds, latency_ms: event.latency_ms });
    queue.push(audio);
    playNext();
  }

  function onMessage(message) {
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    if (event.type === "ping") { ws.send(JSON.stringify({ type: "pong" })); return; }
    if (event.type.startsWith("voice.") && event.type !== "voice.audio") log.push(event);
    if (event.type === "error") log.push(event);
    if (event.type === "voice.audio") enqueue(event);
    else if (event.type === "voice.barge_in") stopPlayback();
    else if (event.type === "voice.transcript") {
      heard.push(event);
      if (event.to_confirm) status.textContent = `Heard “${event.text}” (not sure)`;
    } else if (event.type === "error") {
      document.getElementById("w-error").textContent = event.message;
    }
  }

  /** Spoken turns come back on the chat's own stream as customer messages: mark them as spoken. */
  widget.on((event) => {
    if (event.type !== "customer_message") return;
    const i = heard.findIndex((h) => h.text === event.text);
    if (i < 0) return;
    const [h] = heard.splice(i, 1);
    const bubbles = document.querySelectorAll(".msg.customer");
    const last = bubbles[bubbles.length - 1];
    if (!last) return;
    last.classList.add("spoken");
    last.title = h.to_confirm ? `Spoken; heard with low confidence (${h.confidence})` : "Spoken";
  });

  async function start() {
    setState("connecting", "Connecting the microphone");
    const session = await widget.ensure();
    mic = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
    ctx = new AudioContext({ sampleRate: 16000 });  // the browser resamples the microphone for us
    const source = ctx.createMediaStreamSource(mic);
    node = ctx.createScriptProcessor(2048, 1, 1);
    node.onaudioprocess = (e) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      const input = e.inputBuffer.getChannelData(0);
      const pcm = new Int16Array(input.length);
      for (let i = 0; i < input.length; i += 1) pcm[i] = Math.max(-1, Math.min(1, input[i])) * 0x7fff;
      ws.send(pcm.buffer);
    };
    source.connect(node);
    node.connect(ctx.destination);  // a script processor only runs when connected; it outputs silence
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/v1/conversations/${session.cid}/voice`);
    ws.onopen = () => { ws.send(JSON.stringify({ type: "auth", token: session.token })); setState("listening", "Listening"); };
    ws.onmessage = onMessage;
    ws.onclose = () => { if (mic) stop(); };
  }

  function stop() {
    if (mic) mic.getTracks().forEach((t) => t.stop());
    if (node) node.disconnect();
    if (ctx) ctx.close();
    const socket = ws;
    mic = null; ctx = null; node = null; ws = null;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "voice.end" }));  // what was said before the click still counts
      setTimeout(() => socket.close(), 30000);  // replies to that last turn are still on their way
      socket.onclose = null;
    }
    if (!playing) setState("off");
  }

  button.addEventListener("click", () => {
    if (mic || ws) { stop(); return; }
    start().catch((err) => {
      stop();
      setState("off");
      document.getElementById("w-error").textContent = `Microphone unavailable: ${err.message}`;
    });
  });
})();

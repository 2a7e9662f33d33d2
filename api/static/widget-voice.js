/* The widget's microphone: talk to the bots and the agents, hear their replies.
 *
 * A click opens the conversation's voice socket (/v1/conversations/{id}/voice, token in the first
 * message), names the format (voice.format) and streams the microphone as MediaRecorder records it:
 * Opus in WebM (Chromium) or Ogg (Firefox), a chunk every 100 ms, which the server decodes as it comes
 * so that its voice activity detection hears the audio as it is spoken.
 * The server ends each turn at the caller's pause, posts it as a normal customer turn (it shows in the
 * chat like a typed one, marked as spoken) and sends every line to hear as a WAV, played in order.
 * Speaking over a reply stops it (the server's voice.barge_in). A second click stops the microphone.
 * State for styling and tests: body[data-voice] = off | connecting | listening | speaking. */
"use strict";

(() => {
  const widget = window.batonWidget;
  const form = document.getElementById("w-form");
  if (!widget || !form || !navigator.mediaDevices || !window.MediaRecorder) return;
  const FORMATS = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus"];  // what the server decodes
  const CHUNK_MS = 100;  // how often the recorder hands over audio: the end of a turn is heard this late at most

  const button = Baton.el("button", {
    type: "button", id: "w-mic", class: "mic", "aria-pressed": "false", title: "Talk instead of typing",
  }, "🎤");
  const status = Baton.el("span", { class: "sr-only", id: "w-mic-status", role: "status", "aria-live": "polite" });
  form.insertBefore(button, form.querySelector("button[type=submit]"));
  form.append(status);

  let ws = null, mic = null, recorder = null;
  const queue = [];  // Audio elements waiting to play
  let playing = null;
  const heard = [];  // transcripts not yet matched to their chat bubble
  // what was played, for the page's own tests and support: each line ended (played to its end),
  // failed (could not play) or was stopped by a barge-in (stopped_at, stopped_after_s)
  const played = [];
  const lines = new Map();  // Audio element -> its entry of `played`, until it ends or is stopped
  const log = [];  // the voice socket's own events (transcripts, barge-ins, errors), newest last
  window.batonVoice = { played, log, format: null, state: () => document.body.dataset.voice || "off" };

  function setState(state, text) {
    document.body.dataset.voice = state;
    // pressed while the microphone is on (replies to the last turn may still play after it is off)
    button.setAttribute("aria-pressed", String(state === "connecting" || mic !== null));
    status.textContent = text || "";
  }
  setState("off");

  function playNext() {
    if (playing || !queue.length) {
      if (!playing && ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "voice.playback_done" }));
      if (!playing) quiet();
      return;
    }
    const audio = queue.shift();
    playing = audio;
    setState("speaking", "Speaking");
    // once per clip, and only while it is still the one playing (not after a barge-in)
    const done = (outcome) => {
      audio.onended = null; audio.onerror = null;
      if (playing !== audio) return;
      lines.get(audio)[outcome] = true;
      lines.delete(audio);
      URL.revokeObjectURL(audio.src); playing = null; playNext();
    };
    audio.onended = () => done("ended");
    audio.onerror = () => done("failed");
    audio.play().catch(() => done("failed"));
  }

  /** A barge-in: the clip playing stops where it is, the queued ones are dropped, the mic listens. */
  function stopPlayback() {
    const at = performance.now();
    const drop = (audio, stoppedAfter) => {
      Object.assign(lines.get(audio), { stopped_at: at, stopped_after_s: stoppedAfter });
      lines.delete(audio);
      URL.revokeObjectURL(audio.src);
    };
    queue.splice(0).forEach((audio) => drop(audio, 0));
    if (playing) {
      const audio = playing;
      playing = null;
      audio.pause();
      drop(audio, audio.currentTime);
    }
    quiet();  // not "speaking" until the next clip
  }

  /** Nothing plays: listening while the mic is on, else off (the mic was switched off meanwhile). */
  function quiet() {
    if (mic) setState("listening", "Listening");
    else if (document.body.dataset.voice === "speaking") setState("off");
  }

  function enqueue(event) {
    const bytes = Uint8Array.from(atob(event.audio), (c) => c.charCodeAt(0));
    const audio = new Audio(URL.createObjectURL(new Blob([bytes], { type: event.mime })));
    const line = { text: event.text, for: event.for, seconds: event.seconds, latency_ms: event.latency_ms,
      ended: false, failed: false };
    played.push(line);
    lines.set(audio, line);
    queue.push(audio);
    playNext();
  }

  function onMessage(message) {
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    // the socket that asked (after a stop, `ws` is gone but replies to the last turn still come)
    if (event.type === "ping") { message.target.send(JSON.stringify({ type: "pong" })); return; }
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
    const format = FORMATS.find((f) => MediaRecorder.isTypeSupported(f));
    if (!format) throw new Error("this browser cannot record Opus audio");
    const session = await widget.ensure();
    mic = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
    recorder = new MediaRecorder(mic, { mimeType: format, audioBitsPerSecond: 32000 });
    // Blobs go out in the order they are sent: no need to wait for each one's bytes.
    recorder.ondataavailable = (e) => { if (e.data.size && ws && ws.readyState === WebSocket.OPEN) ws.send(e.data); };
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/v1/conversations/${session.cid}/voice`);
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "auth", token: session.token }));
      ws.send(JSON.stringify({ type: "voice.format", mime: format }));  // before the first chunk
      window.batonVoice.format = format;
      recorder.start(CHUNK_MS);
      setState("listening", "Listening");
    };
    ws.onmessage = onMessage;
    ws.onclose = () => { if (mic) stop(); };
  }

  function stop() {
    const socket = ws, rec = recorder, stream = mic;
    mic = null; recorder = null; ws = null;
    const finish = () => {
      if (stream) stream.getTracks().forEach((t) => t.stop());
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "voice.end" }));  // what was said before the click still counts
        setTimeout(() => socket.close(), 30000);  // replies to that last turn are still on their way
        socket.onclose = null;
      }
    };
    if (rec && rec.state !== "inactive") {
      rec.onstop = finish;  // after the last chunk (its dataavailable comes first)
      rec.ondataavailable = (e) => { if (e.data.size && socket && socket.readyState === WebSocket.OPEN) socket.send(e.data); };
      rec.stop();
    } else {
      finish();
    }
    setState(playing ? "speaking" : "off", playing ? "Speaking" : "");  // the button is released now
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

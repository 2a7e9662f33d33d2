/* Shared helpers of the Baton pages: REST calls, a resumable WebSocket, DOM building, labels. */
"use strict";

const Baton = (() => {
  /** Build an element: el("p", {class: "x", onclick: fn}, "text", child). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      const err = (body && body.error) || {};
      super(err.message || `HTTP ${status}`);
      this.status = status;
      this.code = err.code || "http_error";
      this.details = err.details || [];
      this.retryAfter = Number(retryAfter) || 0;  // seconds, from a 429/503 Retry-After header
    }
  }

  /** JSON request with a bearer token; throws ApiError with the server's code and sentence. */
  async function api(method, path, token, body) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!response.ok) throw new ApiError(response.status, data, response.headers.get("Retry-After"));
    return data;
  }

  /**
   * A WebSocket that follows one event stream: authenticates with its first message (a token in the
   * URL would land in server logs), reconnects with exponential backoff (waiting for the browser to
   * be online), resumes with ?since=<last seq> and drops anything already seen, so every sequenced
   * event reaches onEvent exactly once and in order.
   *
   * Every connection starts with a snapshot of the current state (event.snapshot) whose seq is the
   * stream head: it always reaches onEvent, then the stream is "open". The cursor becomes
   * min(cursor, head): a fresh stream starts at the head, a resumed one still takes its replay.
   */
  class Stream {
    constructor(path, token, { since = 0, onEvent, onStatus }) {
      this.path = path; this.token = token; this.seq = since;
      this.onEvent = onEvent; this.onStatus = onStatus || (() => {});
      this.ws = null; this.attempt = 0; this.closed = false; this.timer = null;
      this.log = [];  // connection history (since values), handy for support and for tests
      this._online = () => { if (!this.ws) this._connectSoon(0); };
      window.addEventListener("online", this._online);
    }

    start() { this._connect(); return this; }

    _url() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const q = this.seq === null ? "" : `?since=${this.seq}`;  // null: only new events
      return `${proto}//${location.host}${this.path}${q}`;
    }

    _connect() {
      if (this.closed || this.ws) return;
      if (navigator.onLine === false) { this.onStatus("offline"); return; }  // the online event retries
      this.onStatus(this.attempt ? "reconnecting" : "connecting");
      this.log.push({ since: this.seq, at: Date.now() });
      const ws = new WebSocket(this._url());
      this.ws = ws;
      ws.onopen = () => { ws.send(JSON.stringify({ type: "auth", token: this.token })); };
      ws.onmessage = (message) => {
        let event;
        try { event = JSON.parse(message.data); } catch { return; }
        if (event.type === "ping") { this.send({ type: "pong" }); return; }
        if (event.snapshot) {
          this.seq = this.seq === null ? event.seq : Math.min(this.seq, event.seq);
          this.attempt = 0;
          this.onEvent(event);
          this.onStatus("open");
          return;
        }
        if (event.seq) {
          if (this.seq !== null && event.seq <= this.seq) return;  // replayed and already shown
          this.seq = event.seq;
        }
        this.onEvent(event);
      };
      ws.onclose = (close) => {
        if (this.ws === ws) this.ws = null;
        if (this.closed) return;
        if ([4401, 4403, 4404, 1008].includes(close.code)) {
          this.onStatus("refused"); return;
        }
        this.onStatus("down");
        this._connectSoon();
      };
    }

    _connectSoon(delay) {
      clearTimeout(this.timer);
      if (delay === undefined) {
        const base = Math.min(10000, 500 * 2 ** this.attempt);
        delay = base / 2 + Math.random() * base / 2;
        this.attempt += 1;
      }
      this.timer = setTimeout(() => this._connect(), delay);
    }

    send(message) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(message)); return true; }
      return false;
    }

    /** Close the socket as a network drop would (it reconnects by itself). */
    drop() { if (this.ws) this.ws.close(4000, "dropped"); }

    stop() {
      this.closed = true; clearTimeout(this.timer);
      window.removeEventListener("online", this._online);
      if (this.ws) this.ws.close(1000, "bye");
    }
  }

  const NAMES = {
    concierge_bot: "Concierge", seller_bot: "Seller specialist", buyer_bot: "Buyer specialist",
    luxury_specialist: "Luxury specialist", support_bot: "Support", billing_bot: "Billing specialist",
    tech_bot: "Tech specialist", sales_bot: "Sales specialist", human_agent: "Agent", system: "Baton",
  };

  /** A readable name for a speaker id (``seller_bot`` -> "Seller specialist"). */
  function speakerName(speaker, role) {
    if (role === "customer") return "You";
    if (NAMES[speaker]) return NAMES[speaker];
    if (!speaker) return role === "agent" ? "Agent" : "Assistant";
    const words = speaker.replace(/_bot$/, "").replace(/[_-]+/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function fmtWait(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 60) return "less than a minute";
    const minutes = Math.round(seconds / 60);
    return minutes === 1 ? "about 1 minute" : `about ${minutes} minutes`;
  }

  return { el, api, ApiError, Stream, speakerName, fmtWait };
})();

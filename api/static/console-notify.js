/* Console notifications: count in the tab title and a favicon badge, an optional sound, desktop alerts. */
"use strict";

const BatonNotify = (() => {
  const KEY = "baton.console.sound";
  const baseTitle = document.title;
  let count = 0, audio = null;
  // The agent's stored preferences (PATCH /v1/agents/{id}: sound, desktop, min_priority), when the
  // desk has them; without them the sound switch is remembered in this browser only.
  let prefs = null, savePrefs = null;

  function icon() {
    let link = document.querySelector("link[rel~='icon']");
    if (!link) { link = document.createElement("link"); link.rel = "icon"; document.head.append(link); }
    return link;
  }

  /** Draw the badge: the Baton dot, and the count in a red circle when there is something new. */
  function badge(n) {
    const c = document.createElement("canvas");
    c.width = c.height = 32;
    const g = c.getContext("2d");
    if (!g) return;
    g.fillStyle = "#2f5bd3";
    g.beginPath(); g.arc(14, 18, 12, 0, 2 * Math.PI); g.fill();
    if (n > 0) {
      g.fillStyle = "#b42318";
      g.beginPath(); g.arc(22, 10, 10, 0, 2 * Math.PI); g.fill();
      g.fillStyle = "#fff";
      g.font = "bold 14px sans-serif";
      g.textAlign = "center"; g.textBaseline = "middle";
      g.fillText(n > 9 ? "9+" : String(n), 22, 11);
    }
    const link = icon();
    link.type = "image/png";
    link.href = c.toDataURL("image/png");
    link.dataset.count = String(n);
  }

  /** The number of things waiting for the agent: shown as "(n) title" and on the favicon. */
  function setCount(n) {
    if (n === count && icon().dataset.count === String(n)) return;
    count = n;
    document.title = n > 0 ? `(${n}) ${baseTitle}` : baseTitle;
    badge(n);
  }

  function soundOn() { return prefs ? prefs.sound !== false : localStorage.getItem(KEY) === "on"; }

  /** Use the agent's stored preferences; ``save(prefs)`` stores a changed copy. */
  function configure(stored, save) {
    prefs = stored ? { ...stored } : null;
    savePrefs = stored ? save : null;
  }

  function setPref(key, value) {
    if (!prefs) { if (key === "sound") localStorage.setItem(KEY, value ? "on" : "off"); return; }
    prefs[key] = value;
    if (savePrefs) savePrefs({ ...prefs }).catch(() => {});
  }

  function beep() {
    if (!soundOn()) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.35);
    } catch { /* no audio device: the title and badge still tell */ }
  }

  /** Something new: a sound (if on) and a desktop notification (if allowed and the tab is not in view).
   * ``priority``: an offer's; below the agent's ``min_priority`` it only counts in the title and badge. */
  function alert(title, body, tag, priority) {
    if (prefs && priority !== undefined && priority < (prefs.min_priority || 1)) return;
    beep();
    if (prefs && prefs.desktop === false) return;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (document.visibilityState === "visible" && document.hasFocus()) return;
    try { new Notification(title, { body, tag, icon: icon().href }); } catch { /* some browsers need a service worker */ }
  }

  /** Sound and desktop-alert switches for the top bar. */
  function controls() {
    const { el } = Baton;
    const sound = el("button", { type: "button", id: "c-sound", "aria-pressed": String(soundOn()) }, soundOn() ? "Sound on" : "Sound off");
    sound.addEventListener("click", () => {
      setPref("sound", !soundOn());
      sound.textContent = soundOn() ? "Sound on" : "Sound off";
      sound.setAttribute("aria-pressed", String(soundOn()));
      beep();
    });
    const supported = "Notification" in window;
    const state = () => (!supported ? "unsupported" : Notification.permission);
    const desk = el("button", { type: "button", id: "c-desktop" });
    const show = () => {
      desk.textContent = { granted: "Desktop alerts on", denied: "Desktop alerts blocked", unsupported: "No desktop alerts", default: "Allow desktop alerts" }[state()];
      desk.disabled = state() !== "default";
    };
    desk.addEventListener("click", async () => {
      if (!supported) return;
      if (await Notification.requestPermission() === "granted") setPref("desktop", true);
      show();
    });
    show();
    return [sound, desk];
  }

  badge(0);
  return { setCount, alert, controls, configure, get count() { return count; } };
})();

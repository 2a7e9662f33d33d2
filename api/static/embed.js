/* Baton chat widget loader: <script src="https://YOUR-BATON/widget.js" async></script> on any page.
 * Adds a launcher button and, on click, a chat panel (an iframe of /widget on the Baton origin, so the
 * conversation's token never touches the host page). Optional attributes on the script tag:
 * data-title="Chat with us", data-color="#2f5bd3", data-open="true". */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__batonWidget) return;
  var origin = new URL(script.src, location.href).origin;
  var color = script.getAttribute("data-color") || "#2f5bd3";
  var title = script.getAttribute("data-title") || "Chat with us";
  var host = document.createElement("div");
  host.id = "baton-widget";
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = document.createElement("style");
  style.textContent =
    ":host{all:initial}" +
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:999px;" +
    "padding:12px 18px;font:600 15px system-ui,sans-serif;color:#fff;background:" + color + ";" +
    "box-shadow:0 6px 20px rgba(0,0,0,.25);cursor:pointer}" +
    ".launch:focus-visible{outline:3px solid #f6c343;outline-offset:2px}" +
    ".panel{position:fixed;right:20px;bottom:80px;z-index:2147483000;width:380px;height:600px;" +
    "max-height:calc(100vh - 100px);border:0;border-radius:14px;background:#fff;" +
    "box-shadow:0 12px 40px rgba(0,0,0,.3)}" +
    ".panel[hidden]{display:none}" +
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:calc(100vh - 70px);" +
    "max-height:none;border-radius:0}}";
  var button = document.createElement("button");
  button.className = "launch";
  button.type = "button";
  button.textContent = title;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "baton-panel");
  var frame = null;
  function toggle(open) {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.className = "panel";
      frame.id = "baton-panel";
      frame.title = title;
      frame.src = origin + "/widget?embed=1";
      // The widget's voice button needs the microphone and plays replies: a cross-origin frame gets
      // neither unless the host page delegates them.
      frame.setAttribute("allow", "clipboard-write; microphone; autoplay");
      root.appendChild(frame);
    }
    var show = open === undefined ? frame.hidden || !button.classList.contains("open") : open;
    frame.hidden = !show;
    button.classList.toggle("open", show);
    button.setAttribute("aria-expanded", String(show));
    button.textContent = show ? "Close chat" : title;
    if (show) frame.focus();
  }
  button.addEventListener("click", function () { toggle(); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && frame && !frame.hidden) { toggle(false); button.focus(); }
  });
  root.appendChild(style);
  root.appendChild(button);
  (document.body || document.documentElement).appendChild(host);
  window.__batonWidget = { open: function () { toggle(true); }, close: function () { toggle(false); } };
  if (script.getAttribute("data-open") === "true") toggle(true);
})();

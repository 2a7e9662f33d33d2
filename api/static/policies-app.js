/* Policy editor: validate as you type, diff, try the draft, publish with history, roll back. */
"use strict";

(() => {
  const { el, api } = Baton;
  const KEY = "baton.admin";
  const $ = (id) => document.getElementById(id);
  const yaml = $("p-yaml"), gutter = $("p-gutter"), marks = $("p-marks");
  const LINE = 20;

  let token = null, name = null, published = null, valid = false, timer = null, checking = 0;

  const base = () => `/v1/policies/${encodeURIComponent(name)}`;

  async function signIn(t) {
    const serving = await (await fetch("/policies/serving")).json();
    name = serving.name;
    const policy = await api("GET", base(), t);
    token = t;
    sessionStorage.setItem(KEY, t);
    $("p-signin").classList.add("hidden");
    $("p-main").classList.remove("hidden");
    $("p-signout").classList.remove("hidden");
    $("p-name").textContent = name;
    setPublished(policy.yaml, policy.version);
    yaml.value = policy.yaml;
    const draft = loadDraft();
    if (draft && draft.text !== policy.yaml) {  // a reload keeps what was typed and not published
      yaml.value = draft.text;
      notice("p-draft", `Restored your unsaved draft (${new Date(draft.at).toLocaleString()}).`, "Discard it", async () => {
        dropDraft(); yaml.value = published; await update();
      });
    }
    await update();
    await loadVersions();
    await showDisk();
    document.dispatchEvent(new CustomEvent("baton:policy-signed-in", { detail: { token } }));
  }

  // -- the unsaved draft survives a reload (per policy, in this browser) ----------------------------
  const draftKey = () => `baton.policy.draft.${name}`;
  function loadDraft() {
    try { return JSON.parse(localStorage.getItem(draftKey()) || "null"); } catch { return null; }
  }
  function saveDraft() {
    if (yaml.value === published) dropDraft();
    else localStorage.setItem(draftKey(), JSON.stringify({ text: yaml.value, at: Date.now() }));
  }
  function dropDraft() {
    localStorage.removeItem(draftKey());
    const shown = $("p-draft");
    if (shown) shown.remove();
  }

  /** A notice above the editor with one action (replaces an earlier notice with the same id). */
  function notice(id, text, action, onAction) {
    const old = $(id);
    if (old) old.remove();
    const button = el("button", { type: "button" }, action);
    const box = el("p", { class: "notice row", id }, el("span", { class: "grow" }, text), button);
    button.addEventListener("click", () => { box.remove(); onAction(); });
    $("p-notices").append(box);
  }

  /** An edit on disk that the service refused (the previous version keeps serving): say so, offer it. */
  async function showDisk() {
    let disk;
    try { disk = await api("GET", `${base()}/disk`, token); } catch { return; }
    if (!disk.refused) return;
    const n = disk.issues.length;
    notice("p-disk", `The policy file on disk was changed and refused (${n} problem${n === 1 ? "" : "s"}); version ${disk.serving_version} keeps serving.`,
      "Open the refused file", async () => { yaml.value = disk.yaml || ""; saveDraft(); await update(); });
  }

  // The experiment panel (policies-experiments.js) published a version: show it.
  // Its message (detail.message) is shown after the re-check, which would otherwise overwrite it.
  document.addEventListener("baton:policy-changed", async (event) => {
    const policy = await api("GET", base(), token);
    setPublished(policy.yaml, policy.version);
    yaml.value = policy.yaml;
    dropDraft();
    await update();
    if (event.detail?.message) $("p-state").textContent = event.detail.message;
    await loadVersions();
  });

  function setPublished(text, version) {
    published = text;
    $("p-version").textContent = `serving version ${version}`;
  }

  // -- editor: line numbers and error marks ------------------------------------------------------
  function paintGutter(badLines) {
    const count = yaml.value.split("\n").length;
    gutter.replaceChildren(...Array.from({ length: count }, (_, i) => {
      const n = i + 1;
      return el("div", { class: badLines.has(n) ? "bad" : null }, String(n));
    }));
    marks.replaceChildren(...[...badLines].map((n) => {
      const mark = el("div", { "data-line": n });
      mark.style.top = `${8 + (n - 1) * LINE - yaml.scrollTop}px`;
      return mark;
    }));
  }

  function syncScroll() {
    gutter.scrollTop = yaml.scrollTop;
    for (const mark of marks.children) mark.style.top = `${8 + (Number(mark.dataset.line) - 1) * LINE - yaml.scrollTop}px`;
  }

  function goToLine(line, column) {
    const lines = yaml.value.split("\n");
    const offset = lines.slice(0, line - 1).reduce((s, l) => s + l.length + 1, 0) + Math.max(0, (column || 1) - 1);
    yaml.focus();
    yaml.setSelectionRange(offset, lines[line - 1] !== undefined ? offset - (column || 1) + 1 + lines[line - 1].length : offset);
    yaml.scrollTop = Math.max(0, (line - 5) * LINE);
    syncScroll();
  }

  // -- validate and diff as you type -----------------------------------------------------------
  async function update() {
    const text = yaml.value;
    const mine = ++checking;
    let check, diff;
    try {
      [check, diff] = await Promise.all([
        api("POST", `${base()}/check`, token, { yaml: text }),
        api("POST", `${base()}/diff`, token, { yaml: text }),
      ]);
    } catch (err) { $("p-error").textContent = err.message; return; }
    if (mine !== checking) return;  // a newer edit is being checked
    $("p-error").textContent = "";
    valid = check.ok;
    const bad = new Set(check.issues.map((i) => i.line).filter(Boolean));
    paintGutter(bad);
    const item = (i, warn) => el("li", {},
      el("button", { type: "button", class: warn ? "issue warning" : "issue", onclick: () => i.line && goToLine(i.line, i.column) },
        warn ? "Warning: " : "", i.line ? `Line ${i.line}${i.column ? `:${i.column}` : ""}: ` : "", i.path ? `${i.path}: ` : "", i.message));
    const warnings = (check.warnings || []).map((w) => item(w, true));
    $("p-issues").replaceChildren(...(check.issues.length ? check.issues.map((i) => item(i, false))
      : [el("li", { class: "muted" }, "No problems: this draft can be published."), ...warnings]));
    $("p-diff").replaceChildren(...(diff.changed ? diff.diff.split("\n").map((line) => el("span", {
      class: line.startsWith("+++") || line.startsWith("---") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : null,
    }, `${line}\n`)) : ["No changes."]));
    $("p-publish").disabled = !(valid && diff.changed);
    $("p-discard").disabled = !diff.changed;
    $("p-state").textContent = !valid ? `${check.issues.length} problem(s); cannot publish` : diff.changed ? "Valid draft, not published" : "Same as published";
    $("p-state").className = valid ? "muted" : "error";
  }

  // -- try the draft ---------------------------------------------------------------------------
  async function tryDraft() {
    const message = $("p-msg").value.trim();
    const conversation = $("p-conv").value.trim();
    const out = $("p-result");
    try {
      const r = await api("POST", `${base()}/draft/explain`, token, {
        yaml: valid ? yaml.value : null, message, conversation_id: conversation || null,
      });
      const signals = Object.entries(r.signals).filter(([k, v]) => k !== "evidence" && v !== null && v !== false && v !== "" && !(Array.isArray(v) && !v.length));
      out.replaceChildren(
        el("p", { class: "notice", id: "p-verdict" }, r.fired
          ? [el("strong", {}, r.fired), " fires and routes to ", el("strong", {}, r.target)]
          : ["No rule fires: a new conversation goes to ", el("strong", {}, r.target)],
        valid ? " (draft)" : " (published policy; the draft has problems)"),
        el("h3", {}, "Signals"),
        el("p", {}, signals.map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")),
        (r.signals.evidence || []).length ? el("ul", {}, ...r.signals.evidence.map((e) => el("li", {}, typeof e === "string" ? e : e.note || JSON.stringify(e)))) : null,
        el("h3", {}, "Every rule"),
        el("table", {},
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "rule"), el("th", { scope: "col" }, "result"), el("th", { scope: "col" }, "why"))),
          el("tbody", {}, ...r.rules.map((rule) => el("tr", { class: rule.rule_id === r.fired ? "fired" : null },
            el("td", {}, rule.rule_id),
            el("td", {}, rule.rule_id === r.fired ? "FIRES" : rule.matched ? "matches (later)" : "no"),
            el("td", {}, rule.conditions.map((c) => `${c.field} ${c.op} ${JSON.stringify(c.expected)} (is ${JSON.stringify(c.actual)}) ${c.result ? "✓" : "✗"}`).join("; ")))))));
    } catch (err) { out.replaceChildren(el("p", { class: "error", role: "alert" }, err.message)); }
  }

  // -- publish, discard, versions ------------------------------------------------------------------
  async function publish() {
    $("p-error").textContent = "";
    try {
      const v = await api("POST", `${base()}/publish`, token, { yaml: yaml.value, published_by: $("p-by").value || "admin", note: $("p-note").value });
      setPublished(yaml.value, v.version);
      dropDraft();
      $("p-disk")?.remove();
      $("p-note").value = "";
      await update();
      await loadVersions();
      $("p-state").textContent = `Published version ${v.version}`;
      document.dispatchEvent(new CustomEvent("baton:policy-published"));
    } catch (err) {
      $("p-error").textContent = `Not published: ${err.message}`;
      await update();
    }
  }

  async function loadVersions() {
    const list = await api("GET", `${base()}/versions`, token);
    $("p-versions").replaceChildren(...list.map((v) => el("li", { "data-version": v.version },
      el("code", {}, v.version),
      v.current ? el("span", { class: "pill low" }, "serving") : null,
      el("span", { class: "grow" }, `${v.published_by} · ${new Date(v.published_at).toLocaleString()}${v.note ? ` · ${v.note}` : ""}`),
      el("button", { type: "button", onclick: () => loadVersion(v.version), "aria-label": `Load version ${v.version} into the draft` }, "Load"),
      v.current ? null : el("button", { type: "button", class: "danger", onclick: () => rollback(v.version), "aria-label": `Roll back to version ${v.version}` }, "Roll back"))));
  }

  async function loadVersion(version) {
    const v = await api("GET", `${base()}/versions/${version}`, token);
    yaml.value = v.yaml;
    saveDraft();
    await update();
  }

  async function rollback(version) {
    if (!confirm(`Publish version ${version} again? It replaces the serving policy now.`)) return;
    try {
      const v = await api("POST", `${base()}/rollback`, token, { version, published_by: $("p-by").value || "admin" });
      const policy = await api("GET", base(), token);
      setPublished(policy.yaml, v.version);
      yaml.value = policy.yaml;
      dropDraft();
      await update();
      await loadVersions();
      $("p-state").textContent = `Rolled back: serving ${v.version}`;
      document.dispatchEvent(new CustomEvent("baton:policy-published"));
    } catch (err) { $("p-error").textContent = err.message; }
  }

  // -- wiring ----------------------------------------------------------------------------------
  yaml.addEventListener("input", () => {
    saveDraft();
    paintGutter(new Set());
    clearTimeout(timer);
    timer = setTimeout(update, 350);
  });
  yaml.addEventListener("scroll", syncScroll);
  yaml.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey && !e.ctrlKey && !e.altKey) {  // two spaces; Esc then Tab leaves
      if (yaml.dataset.escaped === "1") { yaml.dataset.escaped = ""; return; }
      e.preventDefault();
      yaml.setRangeText("  ", yaml.selectionStart, yaml.selectionEnd, "end");
      yaml.dispatchEvent(new Event("input"));
    } else if (e.key === "Escape") yaml.dataset.escaped = "1";
  });
  $("p-publish").addEventListener("click", publish);
  $("p-discard").addEventListener("click", async () => { yaml.value = published; dropDraft(); await update(); });
  $("p-try").addEventListener("submit", (e) => { e.preventDefault(); tryDraft(); });
  $("p-signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("p-signin-error").textContent = "";
    try { await signIn($("p-token").value.trim()); }
    catch (err) { $("p-signin-error").textContent = `Sign-in failed: ${err.message}`; }
  });
  $("p-signout").addEventListener("click", () => { sessionStorage.removeItem(KEY); location.reload(); });
  const saved = sessionStorage.getItem(KEY);
  if (saved) signIn(saved).catch(() => sessionStorage.removeItem(KEY));
})();

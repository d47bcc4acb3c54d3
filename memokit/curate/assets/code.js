// The coding page: one queued post at a time, decided by keyboard. Every text from the queue is
// untrusted and goes in as text (textContent), never as markup; links only to http(s).
"use strict";
(function () {
  const token = document.querySelector('meta[name="memokit-token"]').content;
  const $ = (id) => document.getElementById(id);
  let state = null;
  let chosen = null; // the theme picked for the current post, or null (then Enter accepts the suggestion)
  let busy = false;

  function say(text) { $("status").textContent = text; }

  async function call(path, body) {
    const response = await fetch(path, body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json", "X-Memokit-Token": token },
      body: JSON.stringify(body), credentials: "same-origin",
    });
    const data = await response.json();
    if (!response.ok) { if (data.post !== undefined) show(data); throw new Error(data.error || response.statusText); }
    return data;
  }

  function safeLink(url) {
    try { const u = new URL(url); return u.protocol === "http:" || u.protocol === "https:" ? u.href : null; }
    catch (e) { return null; }
  }

  // The decision undo would take back, also one of an earlier session (the decisions log keeps them).
  function describe(last) {
    const what = last.action === "skip" ? "skipped" : last.action === "drop" ? "dropped" : `coded as ${last.theme}`;
    const who = last.coder === state.coder ? "" : ` by ${last.coder}`;
    return `${what} “${last.title}”${who}${last.earlier ? " in an earlier session" : ""}`;
  }

  function show(next) {
    state = next;
    chosen = null;
    const post = state.post;
    $("progress").textContent = `${state.remaining} in the queue · ${state.coded} coded in this session as ${state.coder}`;
    $("last").textContent = state.undo ? `Last decision: ${describe(state.undo)}. U undoes it.` : "No decision to undo.";
    $("post").hidden = !post;
    $("empty").hidden = !!post;
    if (!post) return;
    $("title").textContent = post.title;
    $("source").textContent = post.source;
    $("community").textContent = post.community;
    $("created").textContent = post.created || "date unknown";
    const href = post.url && safeLink(post.url);
    $("link").hidden = !href;
    $("nolink").hidden = !!href;
    if (href) { $("link").href = href; $("link").textContent = post.host; } else { $("link").removeAttribute("href"); }
    $("body").textContent = post.body ? post.body + (post.more ? ` … (${post.more} more characters at the source)` : "")
      : "(no body: the title is all there is)";
    const s = post.suggestion;
    const labels = Object.fromEntries(state.themes.map((t) => [t.id, t.label]));
    if (s && s.theme) {
      $("suggestion").textContent = `Suggested: ${labels[s.theme] || s.theme} (probability ${Math.round(s.probability * 100)}%)`
        + (s.evidence.length ? `; the words that drove it: ${s.evidence.join(", ")}` : "") + ". Enter accepts it.";
    } else if (s) {
      $("suggestion").textContent = `No suggestion: the model is not sure enough (below ${Math.round(s.threshold * 100)}%). Pick a theme.`;
    } else {
      $("suggestion").textContent = "No suggestion (memokit suggest has not run on this post). Pick a theme.";
    }
    const list = $("themes");
    list.replaceChildren();
    state.themes.forEach((theme, index) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.theme = theme.id;
      button.setAttribute("aria-pressed", "false");
      const name = document.createElement("span");
      name.textContent = `${index + 1}. ${theme.label} (${theme.phase})`;
      if (s && s.theme === theme.id) name.className = "suggested";
      const definition = document.createElement("span");
      definition.className = "definition";
      definition.textContent = theme.definition;
      button.append(name, definition);
      button.addEventListener("click", () => pick(theme.id));
      item.append(button);
      list.append(item);
    });
    $("summary").value = "";
    // The next post starts with the keys free for a theme's number, not inside the summary.
    if (document.activeElement === $("summary")) $("summary").blur();
  }

  function pick(themeId) {
    chosen = themeId;
    for (const button of $("themes").querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.theme === themeId));
    }
    const theme = state.themes.find((t) => t.id === themeId);
    say(`Picked ${theme.label}: Enter codes the post.`);
  }

  async function act(body, done) {
    if (busy) return;
    busy = true;
    try { show(await call(body ? "/api/decide" : "/api/undo", body || {})); say(done); }
    catch (e) { say(e.message); }
    finally { busy = false; }
  }

  function decide(action) {
    const post = state && state.post;
    if (!post) return;
    if (action === "code") {
      const suggested = post.suggestion && post.suggestion.theme;
      if (!chosen && !suggested) { say("Pick a theme first (its number)."); return; }
      const body = chosen ? { action: "theme", theme: chosen } : { action: "accept" };
      act({ id: post.id, summary: $("summary").value, ...body }, `Coded “${post.title}”.`);
    } else {
      act({ id: post.id, action }, action === "skip" ? "Skipped: it comes back after the others." : "Dropped.");
    }
  }

  function undo() {
    if (state && state.undo) act(null, `Undone: ${describe(state.undo)}.`); else say("Nothing to undo.");
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.metaKey) return;
    const inField = event.target && event.target.id === "summary";
    if (event.key === "Enter") { event.preventDefault(); decide("code"); return; }
    if (inField) { if (event.key === "Escape") event.target.blur(); return; }
    if ((event.ctrlKey && event.key === "z") || (!event.ctrlKey && (event.key === "u" || event.key === "U"))) {
      event.preventDefault(); undo(); return;
    }
    if (event.ctrlKey) return;
    if (/^[1-9]$/.test(event.key) && state && state.post) {
      const theme = state.themes[Number(event.key) - 1];
      if (theme) { event.preventDefault(); pick(theme.id); }
    } else if (event.key === "s" || event.key === "S") { event.preventDefault(); decide("skip"); }
    else if (event.key === "d" || event.key === "D") { event.preventDefault(); decide("drop"); }
    else if (event.key === "/") { event.preventDefault(); $("summary").focus(); }
  });
  $("code").addEventListener("click", () => decide("code"));
  $("skip").addEventListener("click", () => decide("skip"));
  $("drop").addEventListener("click", () => decide("drop"));
  $("undo").addEventListener("click", undo);
  $("undo-empty").addEventListener("click", undo);
  call("/api/state").then(show, (e) => say(e.message));
})();

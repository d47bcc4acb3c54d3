// memokit serve: reload the page after each successful rebuild; show a failed build's problems
// over the page (which is still the last good build) until it is fixed. Added by the preview
// server to every page it serves; never part of a built site.
(() => {
  "use strict";
  // The build this page is from (the server writes its number on this script's tag), so that a
  // rebuild that ends before the event stream is connected still reloads the page.
  const from = document.currentScript && document.currentScript.dataset.version;
  let seen = from === undefined || from === null ? null : Number(from);
  let box = null;

  const show = (text) => {
    if (!box) {
      box = document.createElement("section");
      box.id = "memokit-live-error";
      box.setAttribute("role", "alert");
      box.setAttribute("aria-label", "Build failed");
      const title = document.createElement("h2");
      title.textContent = "Build failed: this page is the last good build";
      const problems = document.createElement("pre");
      box.append(title, problems);
      document.body.prepend(box);
    }
    box.querySelector("pre").textContent = text;
  };

  const hide = () => {
    if (box) box.remove();
    box = null;
  };

  const events = new EventSource("/__memokit__/events");
  events.addEventListener("message", (event) => {
    const state = JSON.parse(event.data);
    if (seen !== null && state.version !== seen) {
      events.close();
      location.reload();
      return;
    }
    seen = state.version;
    if (state.error) show(state.error);
    else hide();
  });
})();

// memokit drill: a theme's or phase's posts in a panel; it only filters, searches and sorts.
(function () {
"use strict";
var dialog = document.getElementById("drill");
if (!dialog || typeof dialog.showModal !== "function" || !window.fetch) { return; }
if (location.protocol === "file:") { // no fetch from files: say so, link the page
  var key = readState().drill;
  var link = key && trigger(key);
  var offline = document.querySelector(".drill-offline");
  if (link && offline) {
    offline.querySelector("a").href = link.getAttribute("href");
    offline.hidden = false;
  }
  return;
}
var $ = function (selector) { return dialog.querySelector(selector); };
var form = $(".drill-controls");
var field = function (name) { return form.elements.namedItem(name); };
var title = document.getElementById("drill-title");
var definition = $(".drill-definition");
var status = document.getElementById("drill-status");
var list = $(".drill-list");
var empty = $(".drill-empty");
var card = document.getElementById("drill-post").content.firstElementChild;
var cache = {};
var notice = $(".drill-notice");
var current = null;
var opener = null;
var moreButton = $(".drill-more");
var LIMIT = 200;
var typing = false; // one history entry per search typed

function trigger(key) { // bars carry no label
  return document.querySelector('[data-drill="' + CSS.escape(key) + '"][data-label]');
}

// "regression", "phase:Iterate", or either with "~" and a scoped block's name: the themes of its block.
function themesOf(key) {
  var at = key.split("~")[0];
  if (at.indexOf("phase:") !== 0) { return [at]; }
  var link = trigger(key);
  var cards = (link && link.closest(".themes") || document).querySelectorAll('li.card[data-phase="' +
    CSS.escape(at.slice(6)) + '"]');
  return [].map.call(cards, function (card) { return card.getAttribute("data-theme"); });
}

// A scoped card's posts: those meeting each [field, values] of its data-where.
function inScope(post) {
  return current.where.every(function (test) {
    return test[1].indexOf(test[0] === "year" ? yearOf(post) : post[test[0]] || "") > -1;
  });
}

// A theme's first file opens the panel; the rest follow.
function load(theme) {
  if (!cache[theme]) {
    var entry = {posts: [], meta: null, complete: false};
    cache[theme] = getJson(theme, 1).then(function (first) {
      entry.meta = first;
      entry.posts = first.posts;
      var rest = Promise.resolve();
      for (var page = 2; page <= first.pages; page += 1) { rest = rest.then(more(entry, theme, page)); }
      rest.then(function () { entry.complete = true; arrived(entry); });
      return entry;
    });
    cache[theme].catch(function () { delete cache[theme]; });
  }
  return cache[theme];
}

function more(entry, theme, page) {
  return function () {
    return getJson(theme, page).then(function (data) {
      entry.posts = entry.posts.concat(data.posts);
      arrived(entry);
    });
  };
}

function getJson(theme, page) {
  var name = encodeURIComponent(theme) + (page > 1 ? ".p" + page : "");
  return fetch("data/themes/" + name + ".json").then(function (response) {
    if (!response.ok) { throw new Error("HTTP " + response.status); }
    return response.json();
  });
}

function arrived(entry) {
  if (!current || current.entries.indexOf(entry) === -1 || current.timer) { return; }
  current.timer = setTimeout(function () {
    if (!current) { return; }
    current.timer = null;
    current.merged = null;
    refillYears();
    render();
  }, 250);
}

function posts() {
  if (!current.merged) {
    var all = [];
    current.entries.forEach(function (entry) { all = all.concat(entry.posts); });
    all = current.entries.length > 1 ? all.sort(newestFirst) : all;
    current.merged = current.where.length ? all.filter(inScope) : all;
  }
  return current.merged;
}

function refillYears() {
  var select = field("year");
  var chosen = select.value;
  fillOptions(select, years(posts()), function (year) { return year === "unknown" ? "Unknown date" : year; },
    "All years");
  var wanted = chosen || current.wantYear || "";
  if (!setOption(select, wanted) && current.entries.every(function (entry) { return entry.complete; })) {
    current.wantYear = "";
    dropped("year", wanted);
  }
}

function readState() {
  var params = new URLSearchParams(location.hash.slice(1));
  var get = function (name) { return params.get(name) || ""; };
  return {drill: get("drill"), source: get("source"), year: get("year"), q: get("q"),
    sort: get("sort") === "oldest" ? "oldest" : "newest"};
}

function viewState() {
  return {drill: current ? current.key : "", source: field("source").value, year: field("year").value,
    q: field("q").value.trim(), sort: field("sort").value};
}

function urlFor(state) {
  var base = location.pathname + location.search;
  if (!state.drill) { return base; }
  var params = new URLSearchParams();
  params.set("drill", state.drill);
  ["source", "year", "q"].forEach(function (name) { if (state[name]) { params.set(name, state[name]); } });
  if (state.sort === "oldest") { params.set("sort", "oldest"); }
  return base + "#" + params.toString();
}

function record(push) {
  if (push) { typing = false; }
  var url = urlFor(viewState());
  if (url === location.pathname + location.search + location.hash) { return; }
  history[push ? "pushState" : "replaceState"](null, "", url);
}

function open(key, state, focus) {
  var link = trigger(key);
  var themes = themesOf(key);
  if (!link || !themes.length) { close(false); return; }
  if (current && current.key === key) { apply(state); return; }
  Promise.all(themes.map(load)).then(function (entries) {
    var sources = {};
    var total = 0;
    entries.forEach(function (entry) {
      total += entry.meta.count;
      Object.keys(entry.meta.sources).forEach(function (id) { sources[id] = entry.meta.sources[id]; });
    });
    current = {key: key, entries: entries, total: total, sources: sources, limit: LIMIT, wantYear: state.year,
      where: JSON.parse(link.getAttribute("data-where") || "[]")};
    title.textContent = link.getAttribute("data-label");
    var described = document.getElementById(link.getAttribute("aria-describedby"));
    definition.textContent = described ? described.textContent : "";
    fillOptions(field("source"), Object.keys(sources).sort(), function (id) { return sources[id]; }, "All sources");
    notice.hidden = true;
    apply(state);
    if (!dialog.open) { dialog.showModal(); }
    if (focus !== false) { title.focus(); }
  }, function () {
    location.href = link.getAttribute("href");
  });
}

function close(push) {
  if (dialog.open) { dialog.close(); }
  var key = current && current.key;
  current = null;
  if (push) { record(true); }
  var back = opener || (key && trigger(key));
  opener = null;
  if (back) { back.focus(); }
}

function apply(state) {
  current.limit = LIMIT;
  current.wantYear = state.year;
  field("q").value = state.q;
  field("sort").value = state.sort;
  field("year").value = "";
  if (!setOption(field("source"), state.source)) { dropped("source", state.source); }
  refillYears();
  render();
}

// A link's value that matches nothing is removed, saying so.
function dropped(name, value) {
  notice.textContent = "No post has " + name + " “" + value + "”: that filter was removed.";
  notice.hidden = false;
  record(false);
}

function setOption(select, value) {
  var known = [].some.call(select.options, function (option) { return option.value === value; });
  select.value = known ? value : "";
  return known || !value;
}

function fillOptions(select, values, label, all) {
  select.textContent = "";
  select.appendChild(new Option(all, ""));
  values.forEach(function (value) { select.appendChild(new Option(label(value), value)); });
}

function years(posts) {
  var seen = {};
  posts.forEach(function (post) { seen[yearOf(post)] = true; });
  var found = Object.keys(seen).sort().reverse(); // newest first, "unknown" last
  if (found[0] === "unknown") { found.push(found.shift()); }
  return found;
}

function yearOf(post) { return post.created ? post.created.slice(0, 4) : "unknown"; }

// Newest first, undated last, then by id, as theme pages.
function newestFirst(a, b) {
  if (a.created !== b.created) {
    if (!a.created) { return 1; }
    if (!b.created) { return -1; }
    return a.created < b.created ? 1 : -1;
  }
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function oldestFirst(a, b) {
  if (!a.created !== !b.created) { return a.created ? -1 : 1; }
  return -newestFirst(a, b);
}

function render() {
  if (!current) { return; }
  var state = viewState();
  // One pattern finds and marks matches, on the same text.
  var needle = state.q ? new RegExp(state.q.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&"), "giu") : null;
  var shown = posts().filter(function (post) {
    return (!state.source || post.source === state.source) &&
      (!state.year || yearOf(post) === state.year) &&
      (!needle || [post.title, post.summary, post.community].some(function (text) {
        needle.lastIndex = 0;
        return needle.test(text);
      }));
  });
  if (state.sort === "oldest") { shown = shown.slice().sort(oldestFirst); }
  var fragment = document.createDocumentFragment();
  shown.slice(0, current.limit).forEach(function (post) { fragment.appendChild(item(post, needle)); });
  list.textContent = "";
  list.appendChild(fragment);
  var loading = current.entries.some(function (entry) { return !entry.complete; });
  empty.hidden = shown.length > 0 || loading;
  var hidden = shown.length - Math.min(shown.length, current.limit);
  moreButton.hidden = hidden === 0;
  moreButton.textContent = "Show more posts (" + number(hidden) + " not shown yet)";
  var total = current.where.length ? posts().length : current.total;
  status.textContent = (shown.length === total ? "" : number(shown.length) + " of ") + number(total) +
    (total === 1 ? " post" : " posts") + (loading ? " (loading more…)" : "");
}

function number(value) { return value.toLocaleString("en"); }

// A post, as theme pages show it: the page's <template>.
function item(post, needle) {
  var li = card.cloneNode(true);
  var link = li.querySelector("a");
  var time = li.querySelector("time");
  li.setAttribute("data-id", post.id);
  if (/^https?:\/\//i.test(post.url)) { link.href = post.url; } else { link.removeAttribute("href"); }
  link.appendChild(marked(post.title, needle));
  var part = function (name) { return li.querySelector("." + name); };
  part("source").textContent = current.sources[post.source] || post.source;
  part("community").appendChild(marked(post.community, needle));
  part("host").textContent = post.host;
  if (post.created) {
    time.dateTime = time.textContent = post.created;
    part("undated").remove();
  } else {
    time.remove();
  }
  part("post-summary").appendChild(marked(post.summary, needle));
  return li;
}

// Untrusted text as text nodes only; matches in <mark>.
function marked(text, needle) {
  var fragment = document.createDocumentFragment();
  var at = 0;
  var found;
  if (needle) { needle.lastIndex = 0; }
  while (needle && (found = needle.exec(text)) && found[0]) {
    fragment.appendChild(document.createTextNode(text.slice(at, found.index)));
    fragment.appendChild(document.createElement("mark")).textContent = found[0];
    at = needle.lastIndex;
  }
  fragment.appendChild(document.createTextNode(text.slice(at)));
  return fragment;
}

function activate(event, link) {
  var key = link.getAttribute("data-drill");
  if (!trigger(key) || !themesOf(key).length) { return; }
  event.preventDefault();
  opener = link;
  var state = {drill: key, source: "", year: "", q: "", sort: "newest"};
  history.pushState(null, "", urlFor(state));
  open(state.drill, state);
}

document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("[data-drill]");
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) { return; }
  activate(event, link);
});

document.addEventListener("keydown", function (event) {
  var link = event.target.closest && event.target.closest("[data-drill]");
  if (link && event.key === " ") { activate(event, link); }
  if (event.key === "Escape") { document.body.classList.add("tooltips-dismissed"); }
});
var tooltips = function () { document.body.classList.remove("tooltips-dismissed"); };
document.addEventListener("focusin", tooltips);
document.addEventListener("mouseover", function (event) {
  if (event.target.closest && event.target.closest("[aria-describedby]")) { tooltips(); }
});

form.addEventListener("submit", function (event) { event.preventDefault(); });
moreButton.addEventListener("click", function () {
  current.limit += LIMIT;
  var next = list.children.length;
  render();
  var link = list.children[next] && list.children[next].querySelector("a");
  if (link) { link.focus(); }
});
form.addEventListener("input", function (event) {
  if (event.target !== field("q")) { return; }
  current.limit = LIMIT;
  render();
  record(!typing);
  typing = true;
});
field("q").addEventListener("blur", function () { typing = false; });
form.addEventListener("change", function (event) {
  if (event.target === field("q")) { return; }
  current.limit = LIMIT;
  render();
  record(true);
});
$(".drill-clear").addEventListener("click", function () {
  apply({q: "", source: "", year: "", sort: field("sort").value});
  record(true);
  field("q").focus();
});
$(".drill-close").addEventListener("click", function () { close(true); });
dialog.addEventListener("cancel", function (event) { event.preventDefault(); close(true); });
// Escape closes, even from the search field.
dialog.addEventListener("keydown", function (event) {
  if (event.key === "Escape") { event.preventDefault(); close(true); }
});
// A click on the backdrop closes; on the panel's padding it does not.
dialog.addEventListener("click", function (event) {
  var box = dialog.getBoundingClientRect();
  var inside = event.clientX >= box.left && event.clientX <= box.right &&
    event.clientY >= box.top && event.clientY <= box.bottom;
  if (event.target === dialog && !inside) { close(true); }
});
$(".drill-copy").addEventListener("click", function () {
  var url = location.href;
  var say = function (text) { return function () { status.textContent = text + url; }; };
  var clipboard = navigator.clipboard;
  if (clipboard && clipboard.writeText) {
    clipboard.writeText(url).then(say("Link copied: "), say("Copy this link: "));
  } else {
    say("Copy this link: ")();
  }
});

window.addEventListener("popstate", function () {
  var state = readState();
  if (state.drill) { open(state.drill, state, !dialog.open); } else if (dialog.open) { close(false); }
});

var initial = readState();
if (initial.drill) { open(initial.drill, initial); }
}());

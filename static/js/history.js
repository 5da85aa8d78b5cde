/* Reading a conversation: where it opens (the "new messages" divider, else the newest message),
   older pages inserted above without moving what the reader looks at, the "jump to latest"
   button, and telling the server how far the reader has read. No inline script (CSP). */
(function () {
  "use strict";

  var NEAR_BOTTOM = 48;      // px: the newest message counts as in view
  var READ_DELAY = 800;      // ms: one "read up to" report per pause, not one per scroll event
  var RETRY_DELAY = 3000;    // ms: an older page that failed to load is asked for again
  var anchors = [];          // {pane, el, top} saved before an older page is swapped in
  var panes = new WeakMap(); // pane -> {seen: newest id the reader was shown, read, timer, unseen}

  function ids(pane, selector) {
    return Array.prototype.map.call(pane.querySelectorAll(selector || "[data-msg-id]"), function (el) {
      return parseInt(el.getAttribute("data-msg-id"), 10);
    });
  }

  function newestId(pane) {
    var all = ids(pane);
    return all.length ? Math.max.apply(null, all) : 0;
  }

  function fromBottom(pane) { return pane.scrollHeight - pane.scrollTop - pane.clientHeight; }

  /* How far the server says this reader has read (data-read-up-to): opening a page marks nothing;
     what it shows while visible is reported. */
  function stateOf(pane) {
    var state = panes.get(pane);
    if (!state) {
      var readUpTo = parseInt(pane.getAttribute("data-read-up-to"), 10);
      state = { seen: newestId(pane), read: isNaN(readUpTo) ? newestId(pane) : readUpTo, timer: null };
      panes.set(pane, state);
    }
    return state;
  }

  function jumpButton(pane) {
    var wrap = pane.parentElement;
    return wrap ? wrap.querySelector("[data-jump-latest][aria-controls='" + pane.id + "']") : null;
  }

  /* "1 new message" / "3 new messages": the page renders the singular and plural forms. */
  function countLabel(button, count) {
    var lang = document.documentElement.lang || "en", rule = "other";
    try { rule = new Intl.PluralRules(lang).select(count); } catch (e) { rule = count === 1 ? "one" : "other"; }
    var form = button.getAttribute(rule === "one" ? "data-one" : "data-other");
    return form.replace("{n}", String(count));
  }

  /* Where a conversation opens: at the message it was opened for (a search result), else just
     above the first unseen message, else at the newest one. */
  function openPane(pane) {
    pane.setAttribute("data-opened", "");
    if (!pane.hasAttribute("tabindex")) { pane.setAttribute("tabindex", "-1"); }
    var focusId = pane.getAttribute("data-focus-message");
    var focus = focusId && pane.querySelector("[data-msg-id='" + parseInt(focusId, 10) + "']");
    var divider = pane.querySelector("[data-unread-divider]");
    if (focus) {
      focus.classList.add("focused");
      var middle = focus.getBoundingClientRect().top - pane.getBoundingClientRect().top;
      pane.scrollTop += middle - Math.max(0, Math.round((pane.clientHeight - focus.offsetHeight) / 2));
    } else if (divider) {
      var offset = divider.getBoundingClientRect().top - pane.getBoundingClientRect().top;
      pane.scrollTop += offset - Math.round(pane.clientHeight / 4);
    } else {
      pane.scrollTop = pane.scrollHeight;
    }
    stateOf(pane);
    refresh(pane);
  }

  function openNewPanes() {
    document.querySelectorAll("[data-messages]:not([data-opened])").forEach(openPane);
  }

  /* After any change or scroll: what the reader has now seen, and the button's state. */
  function refresh(pane) {
    if (!pane.getClientRects().length) { return; }   // not shown (the list's screen on a phone): nothing seen
    var state = stateOf(pane), distance = fromBottom(pane), newest = newestId(pane);
    if (distance <= NEAR_BOTTOM) {
      state.seen = newest;
      reportRead(pane, state, newest);
    }
    var unseen = ids(pane, ".msg.theirs[data-msg-id]").filter(function (id) { return id > state.seen; }).length;
    var button = jumpButton(pane);
    if (!button) { return; }
    var show = distance > pane.clientHeight || (unseen > 0 && distance > NEAR_BOTTOM);
    button.hidden = !show;
    var text = button.querySelector("[data-jump-text]");
    var label = unseen > 0 ? countLabel(button, unseen) : button.getAttribute("data-label");
    if (text.textContent !== label) { text.textContent = label; }
    button.classList.toggle("has-new", unseen > 0);
  }

  function refreshAll() { document.querySelectorAll("[data-messages][data-opened]").forEach(refresh); }

  /* The server keeps where each side left off (the divider of the next visit). */
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function reportRead(pane, state, newest) {
    var url = pane.getAttribute("data-read-url");
    if (!url || newest <= state.read || document.visibilityState !== "visible" || state.timer) { return; }
    state.timer = setTimeout(function () {
      state.timer = null;
      var upTo = Math.max(state.seen, state.read);
      if (upTo <= state.read) { return; }
      state.read = upTo;
      fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
        body: "up_to=" + encodeURIComponent(upTo)
      }).catch(function () { state.read = Math.min(state.read, upTo - 1); });
    }, READ_DELAY);
  }

  /* --- older pages: the message under the reader's eyes stays where it is on screen --- */
  function firstVisible(pane) {
    var top = pane.getBoundingClientRect().top;
    var items = pane.querySelectorAll("[data-msg-id], [data-unread-divider]");
    for (var i = 0; i < items.length; i++) {
      if (items[i].getBoundingClientRect().bottom > top) { return items[i]; }
    }
    return null;
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var marker = evt.detail.target;
    if (!marker || !marker.hasAttribute || !marker.hasAttribute("data-older") || !evt.detail.shouldSwap) { return; }
    var pane = marker.closest("[data-messages]");
    var el = pane && firstVisible(pane);
    if (el) { anchors.push({ pane: pane, el: el, top: el.getBoundingClientRect().top }); }
  });

  function restoreAnchors() {
    anchors.splice(0).forEach(function (a) {
      if (a.el.isConnected) { a.pane.scrollTop += a.el.getBoundingClientRect().top - a.top; }
    });
  }

  document.addEventListener("htmx:afterSwap", function () {
    restoreAnchors();
    openNewPanes();
    refreshAll();
  });

  /* A page that failed to come (offline, a server restarting) is asked for again while its marker
     is still in view; the marker stays and says it is waiting. */
  function retryOlder(evt) {
    var marker = evt.detail.elt;
    if (!marker || !marker.hasAttribute || !marker.hasAttribute("data-older")) { return; }
    anchors = anchors.filter(function (a) { return a.pane.contains(marker); });
    setTimeout(function () {
      var pane = marker.closest("[data-messages]");
      if (!marker.isConnected || !pane) { return; }
      var m = marker.getBoundingClientRect(), p = pane.getBoundingClientRect();
      if (m.bottom > p.top && m.top < p.bottom) { htmx.trigger(marker, "intersect"); }
    }, RETRY_DELAY);
  }
  document.addEventListener("htmx:responseError", retryOlder);
  document.addEventListener("htmx:sendError", retryOlder);

  /* --- jump to latest --- */
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-jump-latest]");
    if (!button) { return; }
    var pane = document.getElementById(button.getAttribute("aria-controls"));
    if (!pane) { return; }
    var smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    pane.scrollTo({ top: pane.scrollHeight, behavior: smooth ? "smooth" : "auto" });
    pane.focus({ preventScroll: true });
  });

  var scheduled = false;
  document.addEventListener("scroll", function (evt) {
    if (scheduled || !evt.target.matches || !evt.target.matches("[data-messages]")) { return; }
    scheduled = true;
    requestAnimationFrame(function () { scheduled = false; refreshAll(); });
  }, true);

  document.addEventListener("htmx:wsAfterMessage", refreshAll);
  document.addEventListener("htmx:afterSettle", refreshAll);
  document.addEventListener("visibilitychange", refreshAll);
  window.addEventListener("resize", refreshAll);
  document.addEventListener("workspace:shown", refreshAll);   // a phone back from the list (workspace.js)

  document.addEventListener("DOMContentLoaded", openNewPanes);
})();

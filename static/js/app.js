/* Switchboard page behaviour. No inline script anywhere (CSP): everything lives here. */
(function () {
  "use strict";

  var live = false;          // is the WebSocket open?
  var pollTimer = null;

  function lastMessageId(container) {
    var ids = Array.prototype.map.call(container.querySelectorAll("[data-msg-id]"), function (el) {
      return parseInt(el.getAttribute("data-msg-id"), 10);
    });
    return ids.length ? Math.max.apply(null, ids) : 0;
  }

  function nearBottom(container) {
    return container.scrollHeight - container.scrollTop - container.clientHeight < 120;
  }

  function scrollToBottom(container) { container.scrollTop = container.scrollHeight; }

  /* Keep each message list sorted by id and free of duplicates: a push, the POST answer and a
     catch-up may all bring the same message. */
  function tidyMessages(container) {
    var seen = {}, bubbles = container.querySelectorAll("[data-msg-id]"), last = -1, sorted = true;
    Array.prototype.forEach.call(bubbles, function (el) {
      var id = el.getAttribute("data-msg-id");
      if (seen[id]) { el.remove(); return; }
      seen[id] = true;
      var n = parseInt(id, 10);
      if (n < last) { sorted = false; }
      last = n;
    });
    if (!sorted) {
      var list = Array.prototype.slice.call(container.querySelectorAll("[data-msg-id]"));
      list.sort(function (a, b) { return a.getAttribute("data-msg-id") - b.getAttribute("data-msg-id"); });
      list.forEach(function (el) { container.appendChild(el); });
    }
    if (bubbles.length) {
      var empty = container.querySelector("[data-empty]");
      if (empty) { empty.remove(); }
    }
  }

  /* A conversation entry's rev: the time of its last message, in digits (longer is later). */
  function newerRev(a, b) {
    a = a || "0"; b = b || "0";
    return a.length > b.length || (a.length === b.length && a > b);
  }

  /* A pushed conversation entry is inserted at its new place; drop the older copy (lower rev). */
  function tidyConversations() {
    var best = {};
    document.querySelectorAll("[data-conversation-id]").forEach(function (li) {
      var id = li.getAttribute("data-conversation-id");
      var kept = best[id];
      if (!kept) { best[id] = li; return; }
      if (newerRev(li.getAttribute("data-rev"), kept.getAttribute("data-rev"))) {
        kept.remove(); best[id] = li;
      } else { li.remove(); }
    });
    var list = document.getElementById("conversation-list");
    /* Showing only the waiting ones: an entry pushed after a reply leaves the list. */
    if (list && list.getAttribute("data-filter") === "waiting") {
      list.querySelectorAll(":scope > [data-conversation-id]:not(.waiting)").forEach(function (li) { li.remove(); });
    }
    if (list && list.querySelector("[data-conversation-id]")) {
      var empty = list.querySelector("[data-empty]");
      if (empty) { empty.remove(); }
      sortConversations(list);
    }
  }

  /* The list in the server's order, so that it reads the same before and after a reload: waiting
     conversations first, then the others, each group by last message (newest first), then by id
     (highest first). A push drops an entry at one end of the list; this moves it to its place. */
  function goesBefore(a, b) {
    var waitingA = a.classList.contains("waiting"), waitingB = b.classList.contains("waiting");
    if (waitingA !== waitingB) { return waitingA; }
    var revA = a.getAttribute("data-rev"), revB = b.getAttribute("data-rev");
    if (waitingA && a.parentNode && a.parentNode.getAttribute("data-sort") === "wait") {
      var waitA = a.getAttribute("data-waiting-since"), waitB = b.getAttribute("data-waiting-since");
      if (waitA !== waitB) { return newerRev(waitB, waitA); }   // longest wait (oldest) first
    }
    if (revA !== revB) { return newerRev(revA, revB); }
    return parseInt(a.getAttribute("data-conversation-id"), 10) > parseInt(b.getAttribute("data-conversation-id"), 10);
  }

  function sortConversations(list) {
    var shown = Array.prototype.slice.call(list.querySelectorAll(":scope > [data-conversation-id]"));
    var sorted = shown.slice().sort(function (a, b) { return goesBefore(a, b) ? -1 : (goesBefore(b, a) ? 1 : 0); });
    if (sorted.some(function (el, i) { return el !== shown[i]; })) {
      sorted.forEach(function (el) { list.appendChild(el); });
    }
  }

  function tidyAll(stick) {
    tidyConversations();
    document.querySelectorAll("[data-messages]").forEach(function (c) {
      var wasNear = nearBottom(c);
      tidyMessages(c);
      if (stick || wasNear) { scrollToBottom(c); }
    });
    markOpenConversation();
  }

  /* Catch up on what the page missed: after a (re)connect and on each poll while offline. */
  function catchUp() {
    document.querySelectorAll("[data-catchup-url]").forEach(function (c) {
      var url = c.getAttribute("data-catchup-url") + "?after=" + lastMessageId(c);
      // ... and the reactions of the messages shown (the latest page of them), which may have changed meanwhile.
      var first = c.querySelector("[data-msg-id]");
      if (first) { url += "&refresh_from=" + first.getAttribute("data-msg-id"); }
      htmx.ajax("GET", url, { target: "#" + c.id, swap: "beforeend" });
    });
    document.querySelectorAll("[data-refresh-url]").forEach(function (el) { refresh(el, 1); });
  }

  /* An element refreshed whole (data-refresh-url) may be pushed to while its refresh is on its way:
     the answer, read before that push, would then undo it until the next change. Pushes swapped into
     each such element are counted; an answer that finds more than when its request left is swapped
     in, then the element is fetched once more (that read follows the push), up to the page's
     data-refresh-rounds (PAGE_REFRESH_ROUNDS) fetches in a row. */
  var pushedInto = {};       // element id -> out-of-band swaps into it (or into what it holds) so far

  /* A number the server put on the socket's element (data-poll-seconds...), or the fallback. */
  function liveNumber(name, fallback) {
    var root = document.getElementById("live");
    var value = root ? parseInt(root.getAttribute(name), 10) : NaN;
    return isNaN(value) ? fallback : value;
  }

  function refresh(el, round) {
    // From the element itself, so that its hx-sync (if any) orders this with the page's other requests;
    // replacing it, or filling it (data-refresh-swap="innerHTML": a box that stays).
    htmx.ajax("GET", el.getAttribute("data-refresh-url"), {
      source: el, target: "#" + el.id, swap: el.getAttribute("data-refresh-swap") || "outerHTML",
      headers: { "X-Refresh-Of": el.id + " " + (pushedInto[el.id] || 0) + " " + round }
    });
  }

  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    document.querySelectorAll("[data-refresh-url]").forEach(function (el) {
      if (el === evt.target || el.contains(evt.target)) { pushedInto[el.id] = (pushedInto[el.id] || 0) + 1; }
    });
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var headers = evt.detail.etc && evt.detail.etc.headers, mark = headers && headers["X-Refresh-Of"];
    if (!mark || !evt.detail.shouldSwap) { return; }
    var parts = mark.split(" "), id = parts[0], round = parseInt(parts[2], 10);
    if ((pushedInto[id] || 0) > parseInt(parts[1], 10) && round < liveNumber("data-refresh-rounds", 1)) {
      setTimeout(function () {          // once this answer is in
        var el = document.getElementById(id);
        if (el && el.hasAttribute("data-refresh-url")) { refresh(el, round + 1); }
      }, 0);
    }
  });

  /* The composer as the client's standing has it now (a mute imposed or lifted): fetched again
     after a push says it changed and after a (re)connect, swapped in only when the standing
     differs, so nothing typed is lost. */
  function refreshStanding() {
    document.querySelectorAll("[data-standing-url]").forEach(function (box) {
      fetch(box.getAttribute("data-standing-url"), { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html || !box.isConnected) { return; }
          var parsed = document.createElement("template");
          parsed.innerHTML = html.trim();
          var fresh = parsed.content.firstElementChild;
          if (fresh && fresh.getAttribute("data-standing") !== box.getAttribute("data-standing")) {
            htmx.swap(box, html, { swapStyle: "outerHTML" });
          }
        })
        .catch(function () { /* the next reconnect asks again */ });
    });
  }

  /* A push replaces the page's #standing-changed mark when the client's ban or mute changed. */
  var standingMark = document.getElementById("standing-changed");
  document.addEventListener("htmx:wsAfterMessage", function () {
    var mark = document.getElementById("standing-changed");
    if (mark && mark !== standingMark) {
      standingMark = mark;
      refreshStanding();
    }
  });

  function markOpenConversation() {
    var open = document.querySelector("[data-open-conversation]");
    var id = open ? open.getAttribute("data-open-conversation") : null;
    document.querySelectorAll("[data-conversation-id]").forEach(function (li) {
      if (li.getAttribute("data-conversation-id") === id) { li.setAttribute("aria-current", "true"); }
      else { li.removeAttribute("aria-current"); }
    });
  }

  function setLive(value) {
    live = value;
    document.body.classList.toggle("is-live", value);
    document.body.classList.toggle("is-down", !value);
  }

  function startPolling() {
    if (!document.getElementById("live") || pollTimer) { return; }
    var seconds = liveNumber("data-poll-seconds", 30) || 30;
    pollTimer = setInterval(function () { if (!live) { catchUp(); } }, seconds * 1000);
  }

  /* --- sending: one client token per message, kept only to re-send the same text --- */
  function newToken() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form.matches || !form.matches("[data-send-form]")) { return; }
    var body = evt.detail.parameters.get ? evt.detail.parameters.get("body") : evt.detail.parameters.body;
    var token = (form.dataset.failedBody === body && form.dataset.failedToken) ? form.dataset.failedToken : newToken();
    if (evt.detail.parameters.set) { evt.detail.parameters.set("client_token", token); }
    else { evt.detail.parameters.client_token = token; }
    form.dataset.inflightBody = body;
    form.dataset.inflightToken = token;
    var textarea = form.querySelector("textarea");
    textarea.value = "";
    var error = form.querySelector(".send-error");
    if (error) { error.innerHTML = ""; }
  });

  function restoreText(form) {
    var textarea = form.querySelector("textarea");
    if (!textarea.value) { textarea.value = form.dataset.inflightBody || ""; }
  }

  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form.matches || !form.matches("[data-send-form]")) { return; }
    if (evt.detail.successful) {
      delete form.dataset.failedBody;
      delete form.dataset.failedToken;
      var opens = form.querySelector("input[name=opens]");   // the conversation exists now
      if (opens) { opens.remove(); }
      tidyAll(true);
    } else {
      restoreText(form);   // nothing typed is lost
      // The same text sent again keeps its token: whatever the failure (no answer, a proxy's 502
      // when the process that stored the message died before answering, a refusal that stored
      // nothing), the server stores the message once.
      form.dataset.failedBody = form.dataset.inflightBody;
      form.dataset.failedToken = form.dataset.inflightToken;
    }
  });

  /* A server error that is not ours (no HX-Retarget: a proxy's 502/504 page while a process
     restarts) is not swapped into the page: the page stays as it was. A composer says its
     message was not confirmed; any other action of the person's says the server could not be
     reached (background refreshes say nothing: the next push or reconnect reads again). */
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (!xhr || xhr.status < 500 || xhr.getResponseHeader("HX-Retarget")) { return; }
    evt.detail.shouldSwap = false;
    showUnreached(evt.detail.requestConfig);
  });

  document.addEventListener("htmx:sendError", function (evt) { showUnreached(evt.detail.requestConfig); });

  function showUnreached(request) {
    var elt = request && request.elt;
    if (!elt || !elt.matches) { return; }
    if (elt.matches("[data-send-form]")) {
      var error = elt.querySelector(".send-error");
      if (error) { error.textContent = elt.getAttribute("data-offline-text") || "⚠"; }
      return;
    }
    var alert = document.getElementById("unreachable-alert"), flash = document.getElementById("flash");
    if (!alert || !flash || !request.triggeringEvent || !request.triggeringEvent.isTrusted) { return; }
    flash.replaceChildren(alert.content.cloneNode(true));
  }

  document.addEventListener("keydown", function (evt) {
    var t = evt.target;
    if (t.tagName !== "TEXTAREA" || !t.form || !t.form.matches("[data-send-form]")) { return; }
    if (evt.key === "Enter" && !evt.shiftKey && !evt.isComposing) {
      evt.preventDefault();
      if (t.value.trim()) { t.form.requestSubmit(); }
    }
  });

  /* Older pages, the reader's place and the "new messages" divider: static/js/history.js. */
  document.addEventListener("htmx:afterSettle", function (evt) {
    document.querySelectorAll("[data-messages]").forEach(function (c) {
      var wasNear = nearBottom(c);
      tidyMessages(c);
      if (wasNear) { scrollToBottom(c); }
    });
    tidyConversations();
    markOpenConversation();
  });

  /* --- the socket --- */
  document.addEventListener("htmx:wsOpen", function () {
    setLive(true);
    catchUp();
    refreshStanding();
  });
  /* Typing signals: typing.js. */
  document.addEventListener("htmx:wsClose", function (evt) {
    setLive(false);
    var code = evt.detail && evt.detail.event ? evt.detail.event.code : 0;
    // The extension reconnects by itself on 1006/1011/1012/1013; after a clean close
    // (server restart, logout elsewhere) try again ourselves a little later.
    if ([1006, 1011, 1012, 1013].indexOf(code) < 0 && evt.detail.socketWrapper) {
      setTimeout(function () { evt.detail.socketWrapper.reconnect(); }, 2000 + Math.random() * 3000);
    }
  });
  document.addEventListener("htmx:wsAfterMessage", function () { tidyAll(false); });

  /* An entry pushed to replace one where it stands (its lock flag changed) never brings back an
     older state than the one shown: a later message may have been pushed first. */
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var incoming = evt.detail.fragment && evt.detail.fragment.firstElementChild;
    var shown = evt.detail.target;
    if (incoming && shown && incoming.hasAttribute("data-conversation-id") && shown.hasAttribute("data-rev") &&
        newerRev(shown.getAttribute("data-rev"), incoming.getAttribute("data-rev"))) {
      evt.detail.shouldSwap = false;
    }
  });

  document.addEventListener("click", function (evt) {
    if (evt.target.matches("[data-dismiss]")) { evt.target.closest(".alert").remove(); }
  });

  /* Pushes carry fragments for widgets a page may not show (a conversation that is not open):
     drop those before htmx looks for their targets. */
  function hasTarget(el) {
    var spec = el.getAttribute("hx-swap-oob") || "true";
    var colon = spec.indexOf(":");
    if (colon >= 0) { return !!document.querySelector(spec.slice(colon + 1)); }
    return !!(el.id && document.getElementById(el.id));
  }

  if (window.htmx) {
    htmx.defineExtension("known-targets", {
      transformResponse: function (text, xhr) {
        if (xhr) { return text; }   // only socket pushes (no xhr) are filtered
        var template = document.createElement("template");
        template.innerHTML = text;
        Array.prototype.slice.call(template.content.children).forEach(function (el) {
          if (!hasTarget(el)) { el.remove(); }
        });
        return template.innerHTML;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      // Reconnect quickly at first, never waiting more than 10 s.
      htmx.config.wsReconnectDelay = function (retry) {
        return Math.min(500 * Math.pow(2, retry), 10000) * (0.5 + Math.random() / 2);
      };
    }
    setLive(false);
    startPolling();
    tidyAll(true);
    var textarea = document.querySelector("[data-send-form] textarea");
    if (textarea && window.matchMedia("(min-width: 700px)").matches) { textarea.focus(); }
  });
})();

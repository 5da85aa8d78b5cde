/* Typing, both ways. The page signals over its socket while its user types in a conversation (at
   once, then at most once per data-signal-seconds; at once again in another conversation): typing
   is a moderator's activity and locks the profile they answer as, and the other side sees it.
   The other side's pushed indicator ([data-typing-seconds].is-typing) is emptied again when
   data-typing-seconds pass without a new push, or as soon as their message shows. No inline
   script anywhere (CSP). */
(function () {
  "use strict";

  var socket = null, live = false, lastSent = 0, lastConversation = null;

  document.addEventListener("htmx:wsOpen", function (evt) { socket = evt.detail.socketWrapper; live = true; });
  document.addEventListener("htmx:wsClose", function () { live = false; });

  /* The conversation typed in: the moderator's open one, or the client's own with this profile
     (none before its first message: nobody holds it yet). */
  function conversationOf(textarea) {
    var panel = textarea.closest("[data-open-conversation]");
    var own = document.querySelector("[data-own-conversation]");
    var id = Number(panel ? panel.getAttribute("data-open-conversation") : (own && own.getAttribute("data-own-conversation")));
    return id > 0 ? id : null;
  }

  function seconds(el, name, fallback) {
    var value = el ? parseFloat(el.getAttribute(name)) : NaN;
    return (value > 0 ? value : fallback) * 1000;
  }

  function signal(typedIn) {
    lastSent = Date.now();
    lastConversation = typedIn;
    socket.send(JSON.stringify({ type: "typing", conversation: typedIn }));
  }

  function spacing() { return seconds(document.querySelector("[data-signal-seconds]"), "data-signal-seconds", 3); }

  document.addEventListener("input", function (evt) {
    var t = evt.target;
    if (!socket || !live || t.tagName !== "TEXTAREA" || !t.form || !t.form.matches("[data-send-form]")) { return; }
    var typedIn = conversationOf(t);
    if (Date.now() - lastSent >= spacing() || typedIn !== lastConversation) { signal(typedIn); }
  });

  /* A client typing while the answer to their first message is on its way signals without a
     conversation; once the answer (or the message's push) gives the page one, the typing still
     under way is signalled in it (else the other side would see nothing until the next key). */
  function signalUnderWay() {
    if (!socket || !live || lastConversation !== null || Date.now() - lastSent >= spacing()) { return; }
    var box = document.querySelector("form[data-send-form] textarea");
    var typedIn = box && box.value ? conversationOf(box) : null;
    if (typedIn) { signal(typedIn); }
  }

  document.addEventListener("htmx:afterSettle", signalUnderWay);     // the answer
  document.addEventListener("htmx:wsAfterMessage", signalUnderWay);  // or its push, first

  /* The newest message of the other side shown with the indicator ("theirs" on either page). */
  function theirLast(indicator) {
    var list = document.getElementById(indicator.getAttribute("data-typing-of"));
    var last = 0;
    if (list) {
      list.querySelectorAll(".msg.theirs[data-msg-id]").forEach(function (el) {
        last = Math.max(last, parseInt(el.getAttribute("data-msg-id"), 10) || 0);
      });
    }
    return last;
  }

  function stopShowing(indicator) {
    indicator.classList.remove("is-typing");
    indicator.textContent = "";
  }

  /* A pushed indicator replaces the one shown: each new one gets its own expiry; the old one's
     timer finds it gone from the page and does nothing. */
  function watchIndicators() {
    document.querySelectorAll(".is-typing[data-typing-seconds]").forEach(function (el) {
      if (!el.hasAttribute("data-theirs-before")) {
        el.setAttribute("data-theirs-before", theirLast(el));
        setTimeout(function () { if (el.isConnected) { stopShowing(el); } },
                   seconds(el, "data-typing-seconds", 6));
      } else if (theirLast(el) > Number(el.getAttribute("data-theirs-before"))) {
        stopShowing(el);
      }
    });
  }

  document.addEventListener("htmx:wsAfterMessage", watchIndicators);
  document.addEventListener("htmx:afterSettle", watchIndicators);
})();

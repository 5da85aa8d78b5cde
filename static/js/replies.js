/* Replies: a message's "Reply" shows it, quoted, above the composer (✕ or Escape cancels it); the
   message sent carries it (``reply_to``). A quote's click shows the original, highlighted, loading
   older pages (history.js's marker) until it is there. No inline script (CSP). */
(function () {
  "use strict";

  var PAGE_WAIT = 10000;     // ms: an older page that does not come in this long ends the search
  var HIGHLIGHT = 2500;      // ms
  var SNIPPET = 80;          // characters of the answered message shown above the composer

  function sendForm() { return document.querySelector("form[data-send-form]"); }

  function setReply(form, id, snippet) {
    var preview = form && form.querySelector("[data-reply-preview]");
    if (!preview) { return; }
    preview.querySelector("[data-reply-input]").value = id || "";
    preview.querySelector("[data-reply-snippet]").textContent = snippet || "";
    preview.hidden = !id;
  }

  /* What the composer quotes: the message's text, shortened, or "Photo" for a photo alone. */
  function snippetOf(message, form) {
    var body = message && message.querySelector(".body");
    var text = body ? body.textContent.trim() : "";
    if (!text) {
      var preview = form && form.querySelector("[data-reply-preview]");
      return preview ? preview.getAttribute("data-photo-label") : "";
    }
    return text.length > SNIPPET ? text.slice(0, SNIPPET - 1).trimEnd() + "…" : text;
  }

  function highlight(message) {
    message.scrollIntoView({ block: "center" });
    message.classList.add("quoted-target");
    setTimeout(function () { message.classList.remove("quoted-target"); }, HIGHLIGHT);
  }

  /* The original is in the pane, or older than its first page: ask for the page before, again and
     again, until it comes (or nothing older remains). */
  function showOriginal(pane, id) {
    var found = document.getElementById("msg-" + id);
    if (found && pane.contains(found)) {
      pane.removeAttribute("aria-busy");
      highlight(found);
      return;
    }
    var marker = pane.querySelector("[data-older]");
    if (!marker || !window.htmx) { pane.removeAttribute("aria-busy"); return; }
    pane.setAttribute("aria-busy", "true");
    marker.scrollIntoView({ block: "start" });
    htmx.trigger(marker, "intersect");
    var started = Date.now();
    (function waitForPage() {
      if (!marker.isConnected) { showOriginal(pane, id); return; }
      if (Date.now() - started > PAGE_WAIT) { pane.removeAttribute("aria-busy"); return; }
      setTimeout(waitForPage, 100);
    })();
  }

  document.addEventListener("click", function (evt) {
    var reply = evt.target.closest && evt.target.closest("[data-reply-to]");
    if (reply) {
      var form = sendForm();
      setReply(form, reply.getAttribute("data-reply-to"), snippetOf(reply.closest(".msg"), form));
      if (form) { form.querySelector("textarea").focus(); }
      return;
    }
    if (evt.target.closest && evt.target.closest("[data-reply-cancel]")) {
      setReply(sendForm(), null);
      return;
    }
    var quote = evt.target.closest && evt.target.closest("[data-quote-of]");
    if (quote) {
      var pane = quote.closest("[data-messages]");
      if (!pane) { return; }
      evt.preventDefault();
      showOriginal(pane, quote.getAttribute("data-quote-of"));
    }
  });

  document.addEventListener("keydown", function (evt) {
    var form = sendForm();
    if (evt.key === "Escape" && form && form.contains(evt.target) &&
        !form.querySelector("[data-reply-preview]").hidden) {
      setReply(form, null);
    }
  });

  /* Sent: the next message answers nothing, unless the writer chooses again. */
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (form.matches && form.matches("[data-send-form]") && evt.detail.successful) { setReply(form, null); }
  });
})();

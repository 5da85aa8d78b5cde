/* Unread counts on every page: the top bar's badge copied into the page title ("(3) Switchboard"),
   the client's conversation strip kept to one entry per conversation (a reply pushes its entry to
   the front), a moderator's badge summed from their list's waiting counts, waiting times written
   from their ISO datetime and kept current, and "Seen" taken away by a newer message. No inline
   script (CSP). */
(function () {
  "use strict";

  var TICK = 15000;            // ms between refreshes of the waiting times
  var baseTitle = null;

  function badge() { return document.getElementById("unread-total"); }

  /* A moderator's badge: the waiting messages of the conversations in their list. */
  function sumWaiting(el) {
    var total = 0;
    document.querySelectorAll("#conversation-list .conv.waiting .badge").forEach(function (b) {
      total += parseInt(b.textContent, 10) || 0;
    });
    el.setAttribute("data-unread-total", String(total));
    el.textContent = String(total);
    el.hidden = total === 0;
  }

  function updateTitle() {
    var el = badge();
    if (baseTitle === null) { baseTitle = document.title.replace(/^\(\d+\)\s*/, ""); }
    if (!el) { return; }
    if (el.hasAttribute("data-sum-waiting")) { sumWaiting(el); }
    var total = parseInt(el.getAttribute("data-unread-total"), 10) || 0;
    var title = total > 0 ? "(" + total + ") " + baseTitle : baseTitle;
    if (document.title !== title) { document.title = title; }
  }

  /* One entry per conversation in the strip: the first (the newest pushed) stays. */
  function tidyStrip() {
    var strip = document.getElementById("conv-strip");
    if (!strip) { return; }
    var seen = {};
    strip.querySelectorAll("[data-strip-entry]").forEach(function (li) {
      if (seen[li.id]) { li.remove(); } else { seen[li.id] = true; }
    });
    var section = strip.closest("[data-strip-section]");
    if (section) { section.hidden = !strip.querySelector("[data-strip-entry]"); }
  }

  /* "45 s", "3 min", "2 h", "4 days" in the page's language (the browser's own unit names). */
  function formatDuration(seconds, lang) {
    var value, unit;
    if (seconds < 60) { value = seconds; unit = "second"; }
    else if (seconds < 3600) { value = Math.floor(seconds / 60); unit = "minute"; }
    else if (seconds < 86400) { value = Math.floor(seconds / 3600); unit = "hour"; }
    else { value = Math.floor(seconds / 86400); unit = "day"; }
    try {
      return new Intl.NumberFormat(lang, { style: "unit", unit: unit, unitDisplay: unit === "day" ? "long" : "short" })
        .format(value);
    } catch (e) {
      return value + " " + unit.charAt(0);
    }
  }

  function updateTimes() {
    var lang = document.documentElement.lang || "en", now = Date.now();
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("datetime"));
      if (isNaN(since)) { return; }
      var text = formatDuration(Math.max(0, Math.floor((now - since) / 1000)), lang);
      if (el.textContent !== text) { el.textContent = text; }
    });
  }

  /* "Seen" is about the pane's last message when it came: a newer message (either side's) takes it
     away, without a push of its own. */
  function lastMessageId(pane) {
    var all = pane.querySelectorAll("[data-msg-id]");
    return all.length ? all[all.length - 1].getAttribute("data-msg-id") : "";
  }

  function tidyReceipts() {
    document.querySelectorAll("p.receipt[id^='receipt-']").forEach(function (receipt) {
      var pane = document.getElementById("messages-" + receipt.id.slice("receipt-".length));
      if (!pane) { return; }
      var last = lastMessageId(pane);
      if (!receipt.textContent.trim()) { delete receipt.dataset.about; return; }
      if (!receipt.dataset.about) { receipt.dataset.about = last; }
      else if (receipt.dataset.about !== last) { receipt.innerHTML = ""; delete receipt.dataset.about; }
    });
  }

  function refresh() {
    tidyReceipts();
    tidyStrip();
    updateTitle();
    updateTimes();
  }

  document.addEventListener("DOMContentLoaded", function () {
    refresh();
    setInterval(updateTimes, TICK);
  });
  document.addEventListener("htmx:wsAfterMessage", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
})();

/* The moderator's workspace on a phone: one screen at a time, the conversation or the list.
   The list entries keep loading conversations with htmx (hx-get, hx-push-url); this file only
   says which of the two the page shows, and counts the other conversations waiting for a reply.
   On a wide screen both are shown side by side and the bar it drives is hidden (app.css). */
(function () {
  "use strict";

  var SHOWS = "shows-conversation";
  var leftAt = new WeakMap();   // pane -> its distance from the bottom when the list was shown

  function workspace() { return document.querySelector("main.workspace"); }

  function openPane() {
    var panel = document.getElementById("conversation-panel");
    return panel ? panel.querySelector("[data-messages]") : null;
  }

  function showList() {
    var main = workspace(), pane = openPane();
    if (!main) { return; }
    if (pane) { leftAt.set(pane, pane.scrollHeight - pane.scrollTop - pane.clientHeight); }
    main.classList.remove(SHOWS);
    var current = document.querySelector("#conversation-list [aria-current] a");
    if (current) { current.focus({ preventScroll: false }); }
  }

  function showConversation() {
    var main = workspace();
    if (!main || main.classList.contains(SHOWS)) { return; }
    main.classList.add(SHOWS);
    var pane = openPane();
    if (pane && leftAt.has(pane)) {
      pane.scrollTop = pane.scrollHeight - pane.clientHeight - leftAt.get(pane);
      leftAt.delete(pane);
    }
    document.dispatchEvent(new CustomEvent("workspace:shown"));
  }

  /* "Conversations 2": how many others wait for a reply, read from the list as pushes leave it. */
  function countWaiting() {
    var open = document.querySelector("[data-open-conversation]");
    var id = open ? open.getAttribute("data-open-conversation") : null;
    var n = 0;
    document.querySelectorAll("#conversation-list li.conv.waiting").forEach(function (li) {
      if (li.getAttribute("data-conversation-id") !== id) { n += 1; }
    });
    document.querySelectorAll("[data-show-list]").forEach(function (button) {
      var badge = button.querySelector("[data-waiting-elsewhere]");
      if (!badge) { return; }
      badge.hidden = n === 0;
      badge.textContent = String(n);
      var lang = document.documentElement.lang || "en", rule = "other";
      try { rule = new Intl.PluralRules(lang).select(n); } catch (e) { rule = n === 1 ? "one" : "other"; }
      var form = button.getAttribute(rule === "one" ? "data-one" : "data-other") || "";
      badge.title = n ? form.replace("{n}", String(n)) : "";
    });
  }

  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) { return; }
    if (evt.target.closest("[data-show-list]")) { showList(); return; }
    var toggle = evt.target.closest("[data-toggle-people]");
    if (toggle) {
      var people = document.getElementById(toggle.getAttribute("aria-controls"));
      var expanded = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(expanded));
      if (people) { people.classList.toggle("expanded", expanded); }
    }
  });

  /* A conversation coming into the panel (a tap on an entry) is shown before it is swapped in,
     so that history.js opens it at its place with the pane's real size. */
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.id === "conversation-panel" && evt.detail.shouldSwap) { showConversation(); }
  });

  /* A conversation entry tapped while its conversation is loaded: show it at once. */
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("#conversation-list li.conv a");
    if (!link) { return; }
    var li = link.closest("li.conv"), open = document.querySelector("[data-open-conversation]");
    if (open && li.getAttribute("data-conversation-id") === open.getAttribute("data-open-conversation")) {
      showConversation();
    }
  });

  document.addEventListener("htmx:afterSettle", countWaiting);
  document.addEventListener("htmx:wsAfterMessage", countWaiting);
  document.addEventListener("DOMContentLoaded", countWaiting);
})();

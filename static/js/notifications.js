/* The notification bell: its panel opens under it (fetched by htmx), closes on a second click,
   a click elsewhere or Escape. The count itself is pushed over the socket; after a reconnect and
   while the socket is down app.js fetches it again (its data-refresh-url). */
(function () {
  "use strict";

  function bell() { return document.getElementById("notif-bell"); }
  function panel() { return document.getElementById("notif-panel"); }

  function setOpen(open) {
    var b = bell(), p = panel();
    if (!b || !p) { return; }
    p.hidden = !open;
    b.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (evt.detail.elt === bell() && panel() && !panel().hidden) {
      evt.preventDefault();  // a second click closes it
      setOpen(false);
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target === panel()) { setOpen(true); }
  });
  document.addEventListener("click", function (evt) {
    var p = panel();
    if (!p || p.hidden) { return; }
    if (!evt.target.closest || !evt.target.closest("[data-notif]")) { setOpen(false); }
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key === "Escape" && panel() && !panel().hidden) {
      setOpen(false);
      if (bell()) { bell().focus(); }
    }
  });
})();

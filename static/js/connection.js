/* While the socket is down, say so in words (the banner in layout.html, hidden otherwise) and
   disable the composers: a message typed then would not reach anyone live. Everything comes back
   when the socket reopens (app.js then catches up on what was missed). */
(function () {
  "use strict";

  var down = false;

  function composers() {
    return document.querySelectorAll("[data-send-form] textarea, [data-send-form] button, [data-send-form] input[type=file]");
  }

  function show(lost) {
    down = lost;
    var banner = document.getElementById("connection-lost");
    if (banner) { banner.hidden = !lost; }
    document.body.classList.toggle("connection-lost", lost);
    composers().forEach(function (el) {
      if (lost) {
        if (!el.disabled) { el.disabled = true; el.setAttribute("data-disabled-offline", ""); }
      } else if (el.hasAttribute("data-disabled-offline")) {
        el.disabled = false; el.removeAttribute("data-disabled-offline");
      }
    });
  }

  document.addEventListener("htmx:wsClose", function () { show(true); });
  document.addEventListener("htmx:wsError", function () { show(true); });
  document.addEventListener("htmx:wsOpen", function () { show(false); });
  /* A conversation loaded while down comes with its composer enabled: disable it too. */
  document.addEventListener("htmx:afterSettle", function () { if (down) { show(true); } });
})();

/* Presence of a moderator's page: a heartbeat every 2 minutes (also while the socket is down, and
   at once when it drops), and a goodbye beacon when the page goes away. The server marks the
   moderator offline only after a short grace, so a reload (goodbye, then a new page) does not
   flap. Loaded on moderator pages only; no inline script anywhere (CSP). */
(function () {
  "use strict";

  var config = null, leaving = false, lastBeat = 0;

  function beat() {
    if (!config || leaving) { return; }
    lastBeat = Date.now();
    fetch(config.heartbeatUrl, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": config.csrf }
    }).catch(function () { /* offline for now: the next beat tries again */ });
  }

  function goodbye() {
    if (!config || !navigator.sendBeacon) { return; }
    leaving = true;
    // sendBeacon cannot set headers: the CSRF token travels in the form body.
    var form = new FormData();
    form.append("csrf_token", config.csrf);
    navigator.sendBeacon(config.offlineUrl, form);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("presence");
    if (!el) { return; }
    config = {
      heartbeatUrl: el.getAttribute("data-heartbeat-url"),
      offlineUrl: el.getAttribute("data-offline-url"),
      csrf: el.getAttribute("data-csrf"),
      seconds: parseInt(el.getAttribute("data-heartbeat-seconds"), 10) || 120
    };
    beat();
    setInterval(beat, config.seconds * 1000);
  });

  /* The socket dropped: say we are still here, or the grace after its close would end our presence. */
  document.addEventListener("htmx:wsClose", function () {
    if (Date.now() - lastBeat > 5000) { beat(); }
  });

  window.addEventListener("pagehide", goodbye);
  window.addEventListener("pageshow", function (evt) {
    if (evt.persisted) { leaving = false; beat(); }   // back from the back/forward cache
  });
})();

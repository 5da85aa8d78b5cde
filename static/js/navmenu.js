// The admin's grouped menu (<details data-navgroup> in the top bar): one group open at a time, and
// an open one closes on a click elsewhere, on Escape, or once a link in it was followed.
(function () {
  "use strict";
  function groups() { return document.querySelectorAll("details[data-navgroup]"); }
  function closeAll(except) {
    groups().forEach(function (group) { if (group !== except) group.open = false; });
  }
  document.addEventListener("toggle", function (event) {
    var group = event.target;
    if (group.matches && group.matches("details[data-navgroup]") && group.open) closeAll(group);
  }, true);
  document.addEventListener("click", function (event) {
    var inside = event.target.closest && event.target.closest("details[data-navgroup]");
    if (!inside) closeAll(null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details[data-navgroup][open]");
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });
})();

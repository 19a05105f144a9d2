/* frontdesk dashboard: small progressive touches on top of htmx (no inline scripts: CSP). */
(function () {
  "use strict";
  // After a failed save, open the drawer holding the first field with an error and show it.
  document.addEventListener("htmx:afterSettle", function () {
    var first = null;
    document.querySelectorAll(".field-error").forEach(function (el) {
      if (!first && el.textContent.trim() !== "") { first = el; }
    });
    if (!first) { return; }
    var drawer = first.closest("details");
    if (drawer) { drawer.open = true; }
    first.scrollIntoView({ block: "center" });
  });
})();

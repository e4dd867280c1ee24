// The top menu folds behind a "Menu" button on narrow screens, and after a failed submit the
// focus goes to the first field that needs fixing. Without JavaScript the menu simply wraps
// (flock.css), so every link stays reachable.
(function () {
  "use strict";

  function attachMenu(header) {
    var toggle = header.querySelector(".menu-toggle");
    var menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) { return; }
    function setOpen(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("menu-open", open);
    }
    header.classList.add("menu-collapsible");
    toggle.hidden = false;
    setOpen(false);
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    header.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && header.classList.contains("menu-open")) {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  function isShown(element) {
    return element.getClientRects().length > 0;
  }

  // A page that comes back with field errors was answered to a failed submit: put the writer on
  // the first field to fix (or on the error summary when no field is marked).
  function focusFirstProblem() {
    var main = document.getElementById("content");
    if (!main) { return; }
    var invalid = Array.prototype.filter.call(
      main.querySelectorAll("[aria-invalid=true]"), isShown
    );
    if (invalid.length) {
      invalid[0].focus();
      return;
    }
    var summary = main.querySelector(".error[role=alert]");
    if (summary && isShown(summary)) {
      summary.setAttribute("tabindex", "-1");
      summary.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".topbar").forEach(attachMenu);
    focusFirstProblem();
  });
})();

// Character counters under every field with data-max-chars, and a last autosave when the tab closes.
(function () {
  "use strict";

  function formatNumber(n) { return n.toLocaleString("en-US"); }

  function attachCounter(field) {
    var max = parseInt(field.dataset.maxChars, 10);
    var counter = document.createElement("p");
    counter.className = "counter";
    counter.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    function update() {
      var length = field.value.length;
      counter.textContent = formatNumber(length) + " / " + formatNumber(max) + " characters";
      counter.classList.toggle("over", length > max);
    }
    field.addEventListener("input", update);
    update();
  }

  function attachAutosaveOnLeave(form) {
    var dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) { dirty = false; }
    });
    form.addEventListener("submit", function () { dirty = false; });
    function flush() {
      if (!dirty || !navigator.sendBeacon) { return; }
      navigator.sendBeacon(form.dataset.autosaveUrl, new FormData(form));
      dirty = false;
    }
    window.addEventListener("pagehide", flush);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { flush(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-max-chars]").forEach(attachCounter);
    document.querySelectorAll("form[data-autosave-url]").forEach(attachAutosaveOnLeave);
    // After a failed submit the page was answered from /entries/submit/; point the address at the
    // draft so that a reload shows it instead of posting the form again.
    var editForm = document.querySelector("form[data-edit-url]");
    if (editForm && window.location.pathname !== editForm.dataset.editUrl) {
      window.history.replaceState(null, "", editForm.dataset.editUrl);
    }
  });
})();

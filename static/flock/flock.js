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
    field.addEventListener("flock:replaced", update);
    update();
  }

  function attachAutosaveOnLeave(form) {
    // Count edits, so that a save only clears what it actually carried: keystrokes typed while an
    // autosave was on its way still go out with the beacon if the tab closes.
    var edits = 0, saved = 0, sending = 0;
    form.addEventListener("input", function () { edits += 1; });
    form.addEventListener("htmx:beforeRequest", function () { sending = edits; });
    form.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) { saved = Math.max(saved, sending); }
    });
    form.addEventListener("submit", function () { saved = edits; });
    function flush() {
      if (saved >= edits || !navigator.sendBeacon) { return; }
      if (window.fetch) {
        // Not a beacon: a tab only hidden (not closed) reads the draft's new version, so that
        // its next autosave is not refused as coming from an older page (drafts.js).
        var version = form.querySelector("input[name=version]");
        fetch(form.dataset.autosaveUrl, {
          method: "POST", body: new FormData(form), keepalive: true,
          credentials: "same-origin", headers: { "HX-Request": "true" }
        }).then(function (response) {
          var next = response.headers.get("X-Draft-Version");
          if (response.ok && next && version) { version.value = next; }
        }).catch(function () { /* the text stays in the page and its storage */ });
      } else {
        navigator.sendBeacon(form.dataset.autosaveUrl, new FormData(form));
      }
      saved = edits;
    }
    window.addEventListener("pagehide", flush);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { flush(); }
    });
  }

  // The server takes citation markers out of a passage when it saves it, and answers with the
  // passage as sent and as saved: show the saved one, unless the writer has typed on meanwhile
  // (the next autosave cleans that too).
  document.addEventListener("htmx:afterSwap", function () {
    var cleaned = document.getElementById("context-cleaned");
    var posted = document.getElementById("context-posted");
    var field = document.getElementById("id_context");
    if (!cleaned || !posted || !field) { return; }
    if (field.value === posted.content.textContent) {
      field.value = cleaned.content.textContent;
      // The counter follows; not an "input" event, which would autosave what was just saved.
      field.dispatchEvent(new Event("flock:replaced"));
    }
    cleaned.remove();
    posted.remove();
  });

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

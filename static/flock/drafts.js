// The writing page never loses text: it keeps the form in localStorage until the server confirms
// a save, restores it on load, answers a signed-out session without leaving the page, and offers
// both texts when another tab saved the same draft meanwhile (docs/writing-and-review.md).
(function () {
  "use strict";

  var FIELDS = ["instruction", "context", "source_url", "response"];
  var PREFIX = "flock:draft:";

  function csrfCookie() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function attach(form) {
    var status = document.getElementById("save-status");
    // Looked up each time: an autosave's answer replaces the input (an out-of-band swap).
    function version() { return form.querySelector("input[name=version]"); }
    var edits = 0, sending = 0, submitting = false;

    function field(name) { return form.querySelector("[name=" + name + "]"); }
    function value(name) { var f = field(name); return f ? f.value : ""; }
    function key() {
      var draftKey = value("draft_key"), entry = value("entry");
      return PREFIX + (draftKey || ("entry-" + entry));
    }
    function texts() {
      var out = {};
      FIELDS.forEach(function (name) { if (field(name)) { out[name] = value(name); } });
      return out;
    }
    function store() {
      try {
        localStorage.setItem(key(), JSON.stringify({ texts: texts(), version: version().value }));
      } catch (e) { /* storage full or refused: the text is still in the page */ }
    }
    function forget() { try { localStorage.removeItem(key()); } catch (e) { /* nothing kept */ } }
    // Signing in again (another tab) gives a new CSRF token: always send the current one.
    function freshCsrf() {
      var token = csrfCookie(), input = field("csrfmiddlewaretoken");
      if (token && input) { input.value = token; }
      return token;
    }
    function fill(values) {
      Object.keys(values).forEach(function (name) {
        var f = field(name);
        if (f && f.value !== values[name]) {
          f.value = values[name];
          f.dispatchEvent(new Event("flock:replaced"));
        }
      });
    }

    // On load: text kept in storage and not in what the server sent is restored. Kept from a
    // page that saw the same version, it is simply newer; kept from an older version, the
    // next autosave carries that version, and the server answers with both texts.
    var kept = null;
    try { kept = JSON.parse(localStorage.getItem(key()) || "null"); } catch (e) { kept = null; }
    if (kept && kept.texts) {
      var differs = Object.keys(kept.texts).some(function (name) {
        return field(name) && value(name) !== kept.texts[name];
      });
      if (!differs) {
        forget();
      } else {
        fill(kept.texts);
        if (kept.version) { version().value = kept.version; }
        edits += 1;
        var note = document.createElement("span");
        note.className = "notice";
        note.id = "restored";
        note.textContent = "Restored your unsaved text from this browser; saving it now.";
        status.insertAdjacentElement("afterend", note);
        setTimeout(function () { htmx.trigger(form, "change"); }, 0);
      }
    }

    form.addEventListener("input", function () { edits += 1; store(); });
    form.addEventListener("htmx:configRequest", function (event) {
      var token = freshCsrf();
      if (token) {
        event.detail.headers["X-CSRFToken"] = token;
        event.detail.parameters.csrfmiddlewaretoken = token;
      }
      event.detail.parameters.version = version().value;
    });
    form.addEventListener("htmx:beforeRequest", function () { sending = edits; });
    form.addEventListener("htmx:afterRequest", function (event) {
      var xhr = event.detail.xhr, wasSubmitting = submitting;
      submitting = false;
      if (xhr.status === 200) {
        var next = xhr.getResponseHeader("X-Draft-Version");
        if (next) { version().value = next; }
        // Saved: what the save carried need not be kept; anything typed since still is.
        if (edits === sending) { forget(); } else { store(); }
        if (wasSubmitting) {
          freshCsrf();
          form.dataset.checked = "1";
          form.submit();
        }
      } else {
        store();
      }
    });

    // The submit button first saves through the autosave, which answers a signed-out session
    // or another tab's change in the page; only a confirmed save goes on to the submit.
    form.addEventListener("submit", function (event) {
      if (form.dataset.checked === "1") { return; }
      event.preventDefault();
      store();
      submitting = true;
      htmx.trigger(form, "flock:check");
    });

    // Another tab saved this draft: keep the writer's text, or take the other tab's.
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-conflict]");
      if (!button) { return; }
      var panel = document.getElementById("draft-conflict");
      if (button.dataset.conflict === "theirs") {
        var theirs = {};
        panel.querySelectorAll("textarea[data-field]").forEach(function (area) {
          theirs[area.dataset.field] = area.value;
        });
        fill(theirs);
      }
      version().value = panel.dataset.version;
      panel.hidden = true;
      panel.innerHTML = "";
      edits += 1;
      store();
      htmx.trigger(form, "change");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-autosave-url]");
    if (form && form.querySelector("input[name=version]")) { attach(form); }
  });
})();

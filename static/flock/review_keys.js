// Keyboard shortcuts on the review page (templates/annotation/review_entry.html).
//
// Inside [data-review-keys], every control with data-key is picked by that key: a radio is chosen,
// a checkbox ticked or unticked, a button pressed (the keys come from the server: annotation/forms.py).
// Ctrl+Enter (Cmd+Enter on a Mac) records the review. While the focus is in a text box only that
// combination works, so typing a comment never changes the verdict; Esc leaves the box. Enter
// alone on a verdict, rating or reason never submits. Without JavaScript the form works as a form.
(function () {
  "use strict";

  var area = document.querySelector("[data-review-keys]");
  if (!area) { return; }
  var form = area.querySelector("form.review-form");
  var NOT_TYPED = ["radio", "checkbox", "button", "submit", "reset", "hidden", "range", "color", "file", "image"];

  function isTextField(element) {
    if (!element || !element.tagName) { return false; }
    var tag = element.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || element.isContentEditable) { return true; }
    return tag === "input" && NOT_TYPED.indexOf((element.type || "text").toLowerCase()) === -1;
  }

  // Keys act on this page's review, not while the focus is in another form (a moderator's).
  function ours(element) {
    if (!element || element === document.body || element === document.documentElement) { return true; }
    return area.contains(element) || !(element.closest && element.closest("form"));
  }

  var controls = {};
  area.querySelectorAll("[data-key]").forEach(function (control) {
    controls[control.dataset.key.toLowerCase()] = control;
    control.setAttribute("aria-keyshortcuts", control.dataset.key.toUpperCase());
  });
  var record = form && form.querySelector("[data-record]");
  if (record) { record.setAttribute("aria-keyshortcuts", "Control+Enter Meta+Enter"); }

  // The legend and the hints beside the controls say what works, so they show only with this script.
  area.querySelectorAll(".review-keys, .key-hint").forEach(function (element) { element.hidden = false; });

  // Whether the reviewer wrote something in the review form (a comment or a fix) that leaving
  // the page would lose.
  function typed() {
    if (!form) { return false; }
    return Array.prototype.some.call(form.querySelectorAll("textarea, input[type=text]"), function (field) {
      return field.value !== field.defaultValue;
    });
  }

  function pick(control) {
    if (control.type === "radio") {
      if (!control.checked) {
        control.checked = true;
        control.dispatchEvent(new Event("change", { bubbles: true }));
      }
      control.focus();
    } else if (control.type === "checkbox") {
      control.checked = !control.checked;
      control.dispatchEvent(new Event("change", { bubbles: true }));
      control.focus();
    } else {
      control.click();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) { return; }
    var target = event.target;
    if (!ours(target)) { return; }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey) {
      if (form && !event.repeat) {
        event.preventDefault();
        form.requestSubmit(record || undefined);
      }
      return;
    }
    if (isTextField(target)) {
      if (event.key === "Escape" && area.contains(target)) { target.blur(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Enter" && (target.type === "radio" || target.type === "checkbox") && area.contains(target)) {
      // Record is Ctrl+Enter: a plain Enter on a choice does not send a half-made review.
      event.preventDefault();
      return;
    }
    var control = controls[(event.key || "").toLowerCase()];
    if (!control || event.repeat) { return; }
    event.preventDefault();
    // Skip (a button of another form) leaves the page: ask first if the review holds typed text.
    if (control.type === "submit" && control.form !== form && typed() &&
        !window.confirm("Skip this entry and lose what you typed in the review?")) {
      return;
    }
    pick(control);
  });
})();

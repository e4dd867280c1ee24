// The moderation workbench: "All on this page" ticks or clears every entry of the page. Without
// JavaScript the box stays hidden and each entry is ticked by hand.
(function () {
  "use strict";

  function attach(form) {
    var all = form.querySelector("[data-select-all]");
    if (!all) { return; }
    var boxes = form.querySelectorAll('input[type=checkbox][name="entries"]');
    function reflect() {
      var ticked = Array.prototype.filter.call(boxes, function (box) { return box.checked; });
      all.checked = ticked.length === boxes.length && boxes.length > 0;
      all.indeterminate = ticked.length > 0 && ticked.length < boxes.length;
    }
    all.closest(".select-all").hidden = false;
    form.classList.add("select-all-ready");
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(boxes, function (box) { box.checked = all.checked; });
      reflect();
    });
    Array.prototype.forEach.call(boxes, function (box) {
      box.addEventListener("change", reflect);
    });
    reflect();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form.bulk"), attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

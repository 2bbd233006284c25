/* The desk's keyboard loop: scan -> Enter -> confirm -> Enter -> print -> back to the scan.
   No framework; htmx does the requests. Served by the app itself (no CDN). */
(function () {
  "use strict";

  function scanField() { return document.getElementById("scan"); }

  function backToScan(select) {
    var scan = scanField();
    if (!scan) { return; }
    scan.focus();
    if (select) { scan.select(); }
  }

  // After htmx swaps a fragment in: focus its [autofocus] element (the confirm or print
  // button, the password of a re-sign-in), or go back to the scan field after a message.
  document.addEventListener("htmx:afterSettle", function (evt) {
    var root = evt.detail.elt;
    if (!root || !root.querySelector) { return; }
    var target = root.matches && root.matches("[autofocus]") ? root : root.querySelector("[autofocus]");
    if (target) { target.focus(); return; }
    var refocus = root.matches && root.matches("[data-refocus]") ? root : root.querySelector("[data-refocus]");
    if (refocus) { backToScan(false); }
  });

  document.addEventListener("click", function (evt) {
    var next = evt.target.closest && evt.target.closest("[data-action=next]");
    if (next) {
      var result = document.getElementById("result");
      if (result) { result.innerHTML = ""; }
      backToScan(true);
    }
  });

  // Printing opens the PDF in a new tab; this tab gets ready for the next person.
  document.addEventListener("submit", function (evt) {
    if (evt.target && evt.target.id === "print-form") {
      window.setTimeout(function () { backToScan(true); }, 50);
    }
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key === "Escape" && scanField()) {
      evt.preventDefault();
      backToScan(true);
    }
  });
})();

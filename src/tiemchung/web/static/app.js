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

  // The worklist: j/k or the arrows move between rows, x ticks the row, Enter opens it
  // (it is a link); on an item's page j/k go to the next/previous open item.
  function typing(evt) {
    var t = evt.target;
    return t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
  }
  document.addEventListener("keydown", function (evt) {
    if (evt.altKey || evt.ctrlKey || evt.metaKey || typing(evt)) { return; }
    var key = evt.key;
    if (document.querySelector("[data-worklist]")) {
      var links = Array.prototype.slice.call(document.querySelectorAll("a[data-nav]"));
      if (!links.length) { return; }
      var at = links.indexOf(document.activeElement);
      if (key === "j" || key === "ArrowDown" || key === "k" || key === "ArrowUp") {
        evt.preventDefault();
        var step = (key === "j" || key === "ArrowDown") ? 1 : -1;
        var next = at < 0 ? 0 : Math.max(0, Math.min(links.length - 1, at + step));
        links[next].focus();
      } else if (key === "x" && at >= 0) {
        var box = links[at].closest("tr").querySelector("input[type=checkbox]");
        if (box) { evt.preventDefault(); box.checked = !box.checked; }
      }
    } else if (document.querySelector("[data-worklist-item]")) {
      var target = key === "j" ? "next" : key === "k" ? "prev" : null;
      var link = target && document.querySelector("a[data-key=" + target + "]");
      if (link) { evt.preventDefault(); window.location.href = link.href; }
    }
  });
})();

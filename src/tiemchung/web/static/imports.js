/* An import job's page while it runs: ask its status every two seconds and move the bar;
   when the job ends, load the page again to show the report. Without scripts the page's
   refresh link does the same. Served by the app itself (no CDN). */
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("import-bar");
  var text = document.getElementById("import-progress-text");
  var english = document.documentElement.lang === "en";

  function show(job) {
    var p = job.progress || {};
    if (bar && p.percent !== null && p.percent !== undefined) { bar.value = p.percent; }
    if (text) {
      var read = (p.rows_read || 0).toLocaleString();
      var total = p.rows_total ? " / ~" + p.rows_total.toLocaleString() : "";
      text.textContent = (english ? read + " rows read" : "Đã đọc " + read + " dòng") + total;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        show(job);
        if (job.status === "done" || job.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  window.setTimeout(poll, 1000);
}());

// The SMS templates page: each template's budget updated as the user types.
// Counts as src/tiemchung/identity/sms.py and registry/messages/templates.py do (the server
// hands over the alphabet, the unaccent table and the worst-case values), so the figures
// match the Preview button's, which works without this script.
(function () {
  "use strict";
  var root = document.getElementById("sms-templates");
  if (!root) { return; }
  var samples = JSON.parse(root.dataset.samples);
  var gsm = JSON.parse(root.dataset.gsm);
  var basic = new Set(Array.from(gsm.basic));
  var ext = new Set(Array.from(gsm.ext));
  var LIMITS = { gsm7: [160, 153], ucs2: [70, 67] };
  var PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

  function isGsm(ch) { return basic.has(ch) || ext.has(ch); }

  function clean(text, keep) {
    var nfc = text.normalize("NFC");
    if (keep) { return nfc; }
    var out = "";
    Array.from(nfc).forEach(function (ch) {
      var f = Object.prototype.hasOwnProperty.call(gsm.fold, ch) ? gsm.fold[ch] : ch;
      Array.from(f).forEach(function (c) { if (isGsm(c)) { out += c; } });
    });
    return out;
  }

  function encodingFor(text) {
    return Array.from(text).every(isGsm) ? "gsm7" : "ucs2";
  }

  function units(text, enc) {
    if (enc === "ucs2") { return text.length; } // UTF-16 code units, as UCS-2 counts
    var n = 0;
    Array.from(text).forEach(function (ch) { n += ext.has(ch) ? 2 : 1; });
    return n;
  }

  function segments(text, enc) {
    var n = units(text, enc);
    var lim = LIMITS[enc];
    if (n <= lim[0]) { return n ? 1 : 0; }
    return Math.ceil(n / lim[1]);
  }

  function render(body, keep) {
    var vals = keep ? samples.kept : samples.plain;
    var text = clean(body, keep);
    var site = (vals.site || "").split(/\s+/).filter(Boolean).join(" ");
    function fill(siteValue) {
      return text.replace(PLACEHOLDER, function (m, name) {
        if (name === "site") { return siteValue; }
        return Object.prototype.hasOwnProperty.call(vals, name) ? vals[name] : m;
      });
    }
    if (text.indexOf("{site}") < 0 || !site) { return [fill(site), 0]; }
    var full = fill(site);
    var enc = encodingFor(full);
    var rest = fill("");
    var lim = LIMITS[enc];
    var n = Math.max(segments(rest, enc), 1);
    var room = (n === 1 ? lim[0] : n * lim[1]) - units(rest, enc);
    var cut = site;
    while (cut && units(cut, enc) > room) { cut = Array.from(cut).slice(0, -1).join(""); }
    cut = cut.replace(/\s+$/, "");
    return cut === site ? [full, 0] : [fill(cut), site.length - cut.length];
  }

  function update(form) {
    var body = form.querySelector("[data-body]").value.trim();
    var keep = form.querySelector("[data-keep]").checked;
    var r = render(body, keep);
    var sent = r[0];
    var enc = encodingFor(sent);
    var n = units(sent, enc);
    var count = segments(sent, enc);
    var lim = LIMITS[enc];
    var left = (count <= 1 ? lim[0] : count * lim[1]) - n;
    var box = form.querySelector("[data-budget]");
    function set(name, value) { box.querySelector('[data-b="' + name + '"]').textContent = value; }
    set("text", sent);
    set("segments", String(count));
    set("characters", String(n));
    set("encoding", enc === "gsm7" ? "GSM-7" : "UCS-2");
    set("left", String(left));
    var warnings = [];
    if (count > 1) {
      warnings.push(root.dataset.wSegments.replace("{n}", count).replace("{limit}", lim[0]));
    }
    if (r[1]) { warnings.push(root.dataset.wSite.replace("{cut}", r[1])); }
    if (keep && enc === "ucs2") { warnings.push(root.dataset.wUcs2); }
    var list = box.querySelector('[data-b="warnings"]');
    list.textContent = "";
    warnings.forEach(function (w) {
      var li = document.createElement("li");
      li.textContent = w;
      list.appendChild(li);
    });
    box.dataset.segments = String(count);
  }

  document.querySelectorAll("[data-template-form]").forEach(function (form) {
    form.querySelector("[data-body]").addEventListener("input", function () { update(form); });
    form.querySelector("[data-keep]").addEventListener("change", function () { update(form); });
  });
})();

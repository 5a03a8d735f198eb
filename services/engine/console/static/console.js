// Live status: poll the console's status endpoint while anything on the page is still
// changing; update the badges in place, and reload once something settles (unless a
// form is being filled in), so new metrics and choices appear without a manual reload.
(function () {
  "use strict";
  var FINAL = ["ACTIVE", "CREATE FAILED", "CREATE STOPPED", "DELETED"];
  var INTERVAL_MS = 1200;
  var base = document.body.getAttribute("data-base") || "";
  var dirty = false;

  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("form[method=post]")) { dirty = true; }
  });
  // Opening a form's <details> also counts: a reload would close it under the user.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("summary")) { dirty = true; }
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });

  function isFinal(value) { return !value || FINAL.indexOf(value) !== -1; }
  function cssClass(value) { return "s-" + String(value).toLowerCase().replace(/[ _]/g, "-"); }

  function pendingArns() {
    var arns = [];
    document.querySelectorAll("[data-arn]").forEach(function (el) {
      var field = el.getAttribute("data-field") || "status";
      if ((field === "status" || field === "update") && !isFinal(el.textContent.trim())) {
        var arn = el.getAttribute("data-arn");
        if (arns.indexOf(arn) === -1) { arns.push(arn); }
      }
    });
    return arns;
  }

  function apply(arn, data) {
    var settled = false;
    document.querySelectorAll("[data-arn]").forEach(function (el) {
      if (el.getAttribute("data-arn") !== arn) { return; }
      var field = el.getAttribute("data-field") || "status";
      var value = data[field] || "";
      var before = el.textContent.trim();
      if (field === "failureReason") { el.textContent = value; return; }
      if (!value || value === before) { return; }
      el.textContent = value;
      el.className = "status " + cssClass(value);
      if (!isFinal(before) && isFinal(value)) { settled = true; }
    });
    return settled;
  }

  function poll() {
    var arns = pendingArns();
    if (!arns.length) { return; }
    var query = arns.map(function (a) { return "arn=" + encodeURIComponent(a); }).join("&");
    fetch(base + "/status?" + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("application/json") === -1) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (statuses) {
        var settled = false;
        Object.keys(statuses).forEach(function (arn) { settled = apply(arn, statuses[arn]) || settled; });
        if (settled && !dirty) { window.location.reload(); return; }
        window.setTimeout(poll, INTERVAL_MS);
      })
      .catch(function () { window.setTimeout(poll, INTERVAL_MS * 3); });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();

// frontdoor: two small behaviours, no libraries.
// 1. A contact page in a stage the system moves on by itself reloads until it settles.
// 2. The supervisor dashboard re-fetches its panels every few seconds, without a full reload.
(function () {
  "use strict";
  var body = document.body;
  var refresh = body && body.getAttribute("data-refresh-ms");
  if (refresh) {
    setTimeout(function () { window.location.reload(); }, parseInt(refresh, 10) || 1000);
  }
  var panels = document.getElementById("panels");
  if (!panels) { return; }
  var url = panels.getAttribute("data-poll-url");
  var every = parseInt(panels.getAttribute("data-poll-ms"), 10) || 10000;
  var stamp = document.getElementById("refreshed");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || r.status === 401 || r.status === 303) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined) {
          panels.innerHTML = html;
          if (stamp) { stamp.textContent = "Updated " + new Date().toLocaleTimeString("en-GB") + "."; }
        }
      })
      .catch(function () { if (stamp) { stamp.textContent = "Could not refresh; retrying."; } })
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();

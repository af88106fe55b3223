/* The secretariat console: forms that call another service's API on the same origin
   (documents, signing) with the session cookie and the CSRF header, and a session that
   stays alive while a page is open. */
(function () {
  "use strict";
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrf_token=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  window.consoleCsrf = csrf;

  function show(id, text) {
    ["api-done", "api-error"].forEach(function (other) {
      var el = document.getElementById(other);
      if (el) el.hidden = other !== id;
    });
    var box = document.getElementById(id);
    if (box && text) box.textContent = text;
  }

  function body(form) {
    var kind = form.getAttribute("data-send");
    var data = new FormData(form);
    if (kind === "multipart") {
      return { body: data, headers: {} };
    }
    var json = {};
    data.forEach(function (value, key) { json[key] = value; });
    if (kind === "signing") {
      json = {
        document_id: json.document_id,
        version: parseInt(json.version, 10),
        signers: String(json.signers || "").split(",").map(function (s) { return s.trim(); })
          .filter(Boolean).map(function (u) { return { username: u, role: "signer" }; })
      };
    }
    return { body: JSON.stringify(json), headers: { "Content-Type": "application/json" } };
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var url = form.getAttribute && form.getAttribute("data-api");
    if (!url) return;
    event.preventDefault();
    var sent = body(form);
    sent.headers["X-CSRF-Token"] = csrf();
    sent.headers["Accept"] = "application/json";
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(url, { method: "POST", body: sent.body, headers: sent.headers, credentials: "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (!response.ok) {
            show("api-error", (answer.error && answer.error.message) || response.statusText);
            buttons.forEach(function (b) { b.disabled = false; });
            return;
          }
          show("api-done");
          setTimeout(function () { location.reload(); }, 1200);
        });
      })
      .catch(function () {
        show("api-error", document.documentElement.lang === "en" ? "No connection. Try again." : "Mất kết nối. Hãy thử lại.");
        buttons.forEach(function (b) { b.disabled = false; });
      });
  });

  // The access token lives 15 minutes; renew it every 10 while a page is open.
  if (document.querySelector("header form[action='/console/logout']")) {
    setInterval(function () {
      fetch("/api/auth/refresh", { method: "POST", headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" });
    }, 10 * 60 * 1000);
  }
})();

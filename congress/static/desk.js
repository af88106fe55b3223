/* Camera scanning at the desk, where the browser allows a camera (HTTPS or localhost): the
   native BarcodeDetector when the browser has one, else the vendored jsQR. A badge's QR is
   the URL /c/<code>; the code is checked in through the API and the name shown large. */
(function () {
  "use strict";
  var box = document.getElementById("scanner");
  if (!box || !window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  box.hidden = false;
  var congress = box.getAttribute("data-congress");
  var video = document.getElementById("scanner-video");
  var result = document.getElementById("scanner-result");
  var note = document.getElementById("scanner-note");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var detector = ("BarcodeDetector" in window) ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
  var busy = false, last = "", lastAt = 0;

  function codeOf(text) {
    var m = /\/c\/([A-Za-z0-9_-]{16,64})(?:[?#].*)?$/.exec(text || "");
    return m ? m[1] : null;
  }

  function checkIn(code) {
    busy = true;
    fetch("/api/congresses/" + congress + "/checkins", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": window.consoleCsrf() },
      body: JSON.stringify({ code: code, method: "badge" })
    }).then(function (r) {
      return r.json().then(function (a) {
        if (!r.ok) { result.textContent = "✗"; note.textContent = a.error ? a.error.message : r.statusText; return; }
        var time = new Date(a.checked_in_at).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" });
        result.textContent = (r.status === 201 ? "✓ " : "↺ ") + a.full_name;
        note.textContent = a.unit + " · " + time;
      });
    }).catch(function () { note.textContent = "…"; })
      .then(function () { setTimeout(function () { busy = false; }, 1500); });
  }

  function found(text) {
    var code = codeOf(text);
    var now = Date.now();
    if (!code || busy || (code === last && now - lastAt < 5000)) return;
    last = code; lastAt = now;
    checkIn(code);
  }

  function tick() {
    if (video.readyState >= 2 && !busy) {
      if (detector) {
        detector.detect(video).then(function (codes) { if (codes.length) found(codes[0].rawValue); }).catch(function () {});
      } else if (window.jsQR) {
        canvas.width = video.videoWidth; canvas.height = video.videoHeight;
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var qr = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        if (qr) found(qr.data);
      }
    }
    setTimeout(tick, 250);
  }

  document.getElementById("scanner-start").addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (stream) {
      video.srcObject = stream; video.hidden = false; video.play(); tick();
    }).catch(function (e) { note.textContent = String(e && e.name || e); });
  });
})();

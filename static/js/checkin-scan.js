// 今日预约: scan the citizen's QR code with the device camera (jsQR, vendored) into the code field and
// submit. Progressive enhancement only: without a camera, JavaScript or permission, typing the code
// works as before. The QR code carries the booking code itself (segno on the confirmation page).
(function () {
  "use strict";
  var box = document.querySelector("[data-qr-scan]");
  if (!box || !window.jsQR || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  var form = document.querySelector("[data-testid=check-in-form]");
  var input = form && form.querySelector("input[name=code]");
  if (!input) { return; }
  var start = box.querySelector("[data-qr-start]");
  var stop = box.querySelector("[data-qr-stop]");
  var video = box.querySelector("video");
  var status = box.querySelector("[data-qr-status]");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  var CODE = /^[A-Z0-9]{6,12}$/;

  box.hidden = false;

  function say(text) { status.textContent = text || ""; }

  function halt() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }

  function tick() {
    if (!stream) { return; }
    if (video.readyState === video.HAVE_ENOUGH_DATA && video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (found && found.data) {
        var code = found.data.trim().toUpperCase().replace(/\s+/g, "");
        if (CODE.test(code)) {
          halt();
          input.value = code;
          say(box.dataset.found.replace("%s", code));
          form.requestSubmit ? form.requestSubmit() : form.submit();
          return;
        }
        say(box.dataset.notOurs);
      }
    }
    window.requestAnimationFrame(tick);
  }

  start.addEventListener("click", function () {
    say(box.dataset.starting);
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        stop.hidden = false;
        start.hidden = true;
        return video.play();
      })
      .then(function () { say(box.dataset.scanning); window.requestAnimationFrame(tick); })
      .catch(function () { halt(); say(box.dataset.denied); input.focus(); });
  });
  stop.addEventListener("click", function () { halt(); say(""); input.focus(); });
  window.addEventListener("pagehide", halt);
})();

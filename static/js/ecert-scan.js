// 电子证照核验: scan the QR code with the phone's camera (jsQR, vendored) into the text box, then submit.
// Progressive enhancement: without a camera or JavaScript, pasting the text works the same.
(function () {
  var button = document.getElementById("scan-start");
  var video = document.getElementById("scan-video");
  var status = document.getElementById("scan-status");
  var field = document.getElementById("payload");
  if (!button || !video || !field || !window.jsQR || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  button.classList.remove("d-none");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;

  function stop() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    video.classList.add("d-none");
  }

  function tick() {
    if (!stream) { return; }
    if (video.readyState === video.HAVE_ENOUGH_DATA) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (code && code.data) {
        field.value = code.data;
        stop();
        status.textContent = button.dataset.found;
        field.form.submit();
        return;
      }
    }
    window.requestAnimationFrame(tick);
  }

  button.addEventListener("click", function () {
    status.textContent = button.dataset.starting;
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.classList.remove("d-none");
      video.play();
      status.textContent = button.dataset.aim;
      window.requestAnimationFrame(tick);
    }).catch(function () {
      status.textContent = button.dataset.denied;
    });
  });
})();

// Progressive enhancement of the check-in scanner: where the browser has a camera and the
// BarcodeDetector API (Chrome on Android, recent desktop Chrome), a button starts the camera and a
// recognised QR code is put into the code field and submitted. Without it the page works as a
// plain form (a USB or Bluetooth scanner types into the field).
(function () {
  var form = document.querySelector("form.scanner");
  var field = form && form.querySelector("input[name=code]");
  if (!field || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.textContent = form.dataset.cameraLabel || "Camera";
  var video = document.createElement("video");
  video.setAttribute("playsinline", "");
  video.hidden = true;
  video.style.maxWidth = "100%";
  form.prepend(video);
  form.prepend(button);
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      var tick = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            stream.getTracks().forEach(function (track) { track.stop(); });
            field.value = codes[0].rawValue;
            form.submit();
          } else {
            window.requestAnimationFrame(tick);
          }
        }).catch(function () { window.requestAnimationFrame(tick); });
      };
      tick();
    }).catch(function () { button.disabled = true; });
  });
})();

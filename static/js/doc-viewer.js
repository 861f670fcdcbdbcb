// The clerk's document viewer: zoom and rotate an image in its frame (CSS width and transform).
// Progressive enhancement: without JavaScript the image shows at its frame's width and the
// tools stay hidden; "在新窗口打开" opens the file itself.
(function () {
  "use strict";
  document.querySelectorAll("[data-viewer]").forEach(function (box) {
    var img = box.querySelector(".viewer-image");
    var tools = box.querySelector("[data-viewer-tools]");
    if (!img || !tools) { return; }
    var status = box.querySelector("[data-viewer-status]");
    var scale = 1;
    var turn = 0;
    // Turned about its top-left corner, then moved back into the frame, so no part is cut off.
    var SHIFT = { 0: "", 90: " translateY(-100%)", 180: " translate(-100%, -100%)", 270: " translateX(-100%)" };
    img.style.transformOrigin = "top left";
    function apply() {
      var angle = ((turn % 360) + 360) % 360;
      img.style.width = (scale * 100) + "%";
      img.style.transform = angle ? "rotate(" + angle + "deg)" + SHIFT[angle] : "";
      if (status) { status.textContent = Math.round(scale * 100) + "%" + (angle ? " · " + angle + "°" : ""); }
    }
    tools.hidden = false;
    tools.addEventListener("click", function (event) {
      var button = event.target.closest("[data-act]");
      if (!button) { return; }
      var act = button.getAttribute("data-act");
      if (act === "in") { scale = Math.min(4, scale + 0.5); }
      else if (act === "out") { scale = Math.max(0.5, scale - 0.5); }
      else if (act === "left") { turn -= 90; }
      else if (act === "right") { turn += 90; }
      else { scale = 1; turn = 0; }
      apply();
    });
  });
})();

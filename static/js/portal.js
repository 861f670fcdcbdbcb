// Progressive enhancement only: every page works without JavaScript.
document.documentElement.classList.add("js");
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) { window.print(); }
});
// A submit button is pressed once: the server makes one application anyway, this saves a round trip.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.hasAttribute("data-once")) {
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
  }
});
// A link to a form field (#field-id, the 修改 links on 核对信息) puts the cursor in it, not only the view.
document.addEventListener("DOMContentLoaded", function () {
  if (!location.hash) { return; }
  var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (target && target.matches("input, select, textarea, [role=radiogroup]")) {
    var first = target.matches("[role=radiogroup]") ? target.querySelector("input:checked, input") : target;
    (first || target).focus({ preventScroll: true });
    target.scrollIntoView({ block: "center" });
  }
});

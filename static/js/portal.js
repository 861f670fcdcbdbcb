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

// The cell page: zoom buttons, the Grad-CAM overlay toggle and keys for the previous and next
// cells. Classes only (the Content-Security-Policy forbids style attributes).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var frame = document.getElementById("cell-frame");
  if (!frame) { return; }
  var zoomButtons = document.querySelectorAll("[data-zoom]");
  zoomButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      frame.classList.remove("zoom-1", "zoom-2", "zoom-4");
      frame.classList.add("zoom-" + button.dataset.zoom);
      zoomButtons.forEach(function (other) {
        other.setAttribute("aria-pressed", String(other === button));
      });
    });
  });
  var overlay = frame.querySelector(".cell-overlay");
  var toggle = document.querySelector("[data-overlay-toggle]");
  if (overlay && toggle) {
    toggle.addEventListener("click", function () {
      overlay.hidden = !overlay.hidden;
      toggle.setAttribute("aria-pressed", String(!overlay.hidden));
    });
  }
  var steps = {ArrowLeft: "previous", k: "previous", ArrowRight: "next", j: "next"};
  document.addEventListener("keydown", function (event) {
    var target = event.target instanceof Element ? event.target : document.body;
    var panning = event.key.indexOf("Arrow") === 0 && target.closest(".cell-stage");
    if (event.altKey || event.ctrlKey || event.metaKey || !steps[event.key] || panning ||
        target.closest("input, textarea, select")) {
      return;  // typing, or panning the image with the arrow keys
    }
    var link = document.querySelector('[data-cell-step="' + steps[event.key] + '"]');
    if (link) { link.click(); }
  });
});

// The report's Print button (no inline onclick: the Content-Security-Policy forbids it).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.querySelectorAll("[data-print-page]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});

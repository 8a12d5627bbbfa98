// Dashboard class-mix bars: width from data-share-percent. Set from a script because the
// Content-Security-Policy is meant to need no style attributes in the markup.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.querySelectorAll(".share-bar[data-share-percent]").forEach(function (bar) {
    bar.style.width = bar.dataset.sharePercent + "%";
  });
});

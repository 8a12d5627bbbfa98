// The review page's keys (listed on the page): j/k or ↓/↑ move between cells, a accepts the
// model's class, 1..9 set a class, n writes a note, ? shows the list. Keys do nothing while
// typing. Reviews go through the cells' own forms (htmx swaps the row); a file, not an inline
// script, for the Content-Security-Policy.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var currentId = null;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#cells tr.cell-row"));
  }
  function currentRow() {
    return currentId ? document.getElementById(currentId) : null;
  }
  function announce(text) {
    var announcer = document.getElementById("review-announcer");
    if (announcer && text) { announcer.textContent = text; }
  }
  function mark(row) {
    rows().forEach(function (other) {
      other.classList.remove("current");
      other.removeAttribute("aria-current");
    });
    if (!row) { return; }
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    currentId = row.id;
  }
  function goTo(row) {
    if (!row) { return; }
    mark(row);
    row.focus({preventScroll: true});
    row.scrollIntoView({block: "nearest"});
    announce(row.getAttribute("aria-label"));
  }
  function step(delta) {
    var all = rows();
    var index = all.indexOf(currentRow());
    goTo(index < 0 ? all[0] : all[Math.min(Math.max(index + delta, 0), all.length - 1)]);
  }
  function press(row, selector) {
    var button = row && row.querySelector("form.cell-review " + selector);
    if (button) { button.click(); }  // a click: htmx sends the button's name and value
  }
  function setClass(row, key) {
    var entry = document.querySelector('[data-class-key="' + key + '"]');
    var select = row && row.querySelector("form.cell-review select");
    if (!entry || !select) { return; }
    var wanted = entry.getAttribute("data-class");
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === wanted;
    });
    if (!known) { announce(wanted + " is not one of this cell's classes."); return; }
    select.value = wanted;
    press(row, "[data-review-set]");
  }
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]");
  }

  document.addEventListener("focusin", function (event) {
    var row = event.target instanceof Element && event.target.closest("#cells tr.cell-row");
    if (row && row.id !== currentId) { mark(row); }
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target instanceof Element ? event.target : document.body;
    if (event.key === "Escape" && target.matches("textarea.cell-note")) {
      goTo(target.closest("tr.cell-row"));  // leave the note; it is saved with the review
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey || typing(target) || !rows().length) {
      return;
    }
    var row = currentRow();
    var key = event.key;
    if (key === "j" || key === "ArrowDown") { step(1); }
    else if (key === "k" || key === "ArrowUp") { step(-1); }
    else if (key === "a") { press(row, "[data-review-accept]"); }
    else if (/^[1-9]$/.test(key)) { setClass(row, key); }
    else if (key === "n" && row && row.querySelector("textarea.cell-note")) {
      row.querySelector("textarea.cell-note").focus();
    } else if (key === "?") {
      var list = document.getElementById("review-keys");
      if (list) { list.open = !list.open; list.scrollIntoView({block: "nearest"}); }
    } else { return; }
    event.preventDefault();
  });
  // A reviewed row comes back from the server as a new element: keep it current, focused
  // where the reader is, and say what was recorded.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var row = currentRow();
    if (!row) { return; }
    mark(row);
    if (!row.contains(document.activeElement)) { row.focus({preventScroll: true}); }
    var outcome = row.querySelector("[role=status], [role=alert]");
    if (outcome && row.contains(event.target)) { announce(outcome.textContent); }
  });
  // An answer that is not the row (the session ended and the login page came back, or the
  // server refused): go where the server sent us, or say so, never draw it into the table.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var asked = event.detail.requestConfig && event.detail.requestConfig.path;
    if (xhr.responseURL && asked && new URL(xhr.responseURL).pathname !==
        new URL(asked, window.location.href).pathname) {
      event.detail.shouldSwap = false;
      window.location.assign(xhr.responseURL);
    }
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    announce("Not recorded (" + event.detail.xhr.status + "): reload the page and try again.");
    window.alert("Not recorded (" + event.detail.xhr.status + "): reload the page and try again.");
  });
});

// The zoomable viewer of a field or a whole slide (templates/imaging/viewer.html):
// OpenSeadragon reads the server's Deep Zoom tiles; the detected cells are rings in an SVG
// laid over it, in image pixels, moved with the view. A field's cells are fetched once; a
// slide's (10^4-10^5) for the region in view, at most as many as the server sends.
// Attributes and classes only: the Content-Security-Policy forbids style attributes.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var container = document.getElementById("slide-viewer");
  if (!container || typeof OpenSeadragon === "undefined") { return; }
  var SVG = "http://www.w3.org/2000/svg";
  var overlay = document.getElementById("cell-overlay");
  var layer = overlay.querySelector(".cell-marks");
  var toggle = document.getElementById("flagged-only");
  var status = document.getElementById("viewer-status");
  var byRegion = container.dataset.byRegion === "true";
  var focus = container.dataset.focusX === undefined ? null : {
    x: parseFloat(container.dataset.focusX), y: parseFloat(container.dataset.focusY),
    cell: container.dataset.focusCell || ""
  };
  var cells = [], classes = [], request = 0, fetchTimer = null;

  var viewer = OpenSeadragon({
    element: container,
    prefixUrl: container.dataset.prefixUrl,
    tileSources: container.dataset.dziUrl,
    drawer: "canvas",
    showFullPageControl: false,
    showRotationControl: false,
    showNavigator: byRegion,
    maxZoomPixelRatio: 4,
    visibilityRatio: 0.5,
    gestureSettingsMouse: {clickToZoom: false}
  });

  function imageToScreen() {
    var origin = viewer.viewport.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
    var unit = viewer.viewport.imageToViewerElementCoordinates(new OpenSeadragon.Point(1, 0));
    return {x: origin.x, y: origin.y, scale: unit.x - origin.x};
  }

  function follow() {
    var view = imageToScreen();
    layer.setAttribute("transform", "translate(" + view.x + " " + view.y + ") scale(" +
                       view.scale + ")");
    // A ring stays at least 5 screen pixels wide however far out the view is.
    var least = 5 / Math.max(view.scale, 1e-6);
    layer.querySelectorAll("circle").forEach(function (ring) {
      ring.setAttribute("r", Math.max(parseFloat(ring.dataset.radius), least));
    });
  }

  function mark(cell) {
    // cell: [x, y, radius, class index, flagged, cell page URL or null, crop id or null]
    var kind = classes[cell[3]] || {name: "unknown", colour: "#777777"};
    var flagged = cell[4] === 1;
    var label = kind.name + (flagged ? ", flagged" : "") + " at x " + Math.round(cell[0]) +
                ", y " + Math.round(cell[1]);
    var node = document.createElementNS(SVG, cell[5] ? "a" : "g");
    if (cell[5]) {
      node.setAttribute("href", cell[5]);
      node.setAttribute("aria-label", "Cell page: " + label);
    }
    node.setAttribute("class", "cell-mark" + (flagged ? " flagged" : ""));
    if (cell[6] !== null) {
      node.setAttribute("id", "cell-" + cell[6]);
      node.dataset.crop = String(cell[6]);
    }
    var chosen = focus && focus.cell && String(cell[6]) === focus.cell;
    if (chosen) {
      node.classList.add("chosen");
      node.appendChild(ring(cell, "#ffffff", 6, "chosen-halo"));
    }
    node.appendChild(ring(cell, kind.colour, flagged ? 3 : 2, flagged ? "" : "unflagged"));
    var title = document.createElementNS(SVG, "title");
    title.textContent = label + (chosen ? " (the cell you came from)" : "");
    node.appendChild(title);
    return node;
  }

  function ring(cell, colour, width, extraClass) {
    var circle = document.createElementNS(SVG, "circle");
    circle.setAttribute("cx", cell[0]);
    circle.setAttribute("cy", cell[1]);
    circle.setAttribute("r", cell[2]);
    circle.dataset.radius = String(cell[2]);
    circle.setAttribute("fill", "none");
    circle.setAttribute("stroke", colour);
    circle.setAttribute("stroke-width", width);
    circle.setAttribute("vector-effect", "non-scaling-stroke");
    if (extraClass) { circle.setAttribute("class", extraClass); }
    return circle;
  }

  function draw() {
    while (layer.firstChild) { layer.removeChild(layer.firstChild); }
    var chosenNode = null;
    cells.forEach(function (cell) {
      var node = mark(cell);
      if (node.classList.contains("chosen")) { chosenNode = node; } else { layer.appendChild(node); }
    });
    if (chosenNode) { layer.appendChild(chosenNode); }  // drawn last: on top
    follow();
  }

  function regionQuery() {
    var query = new URLSearchParams();
    if (byRegion) {
      var bounds = viewer.viewport.viewportToImageRectangle(viewer.viewport.getBounds(true));
      query.set("left", Math.floor(bounds.x));
      query.set("top", Math.floor(bounds.y));
      query.set("right", Math.ceil(bounds.x + bounds.width));
      query.set("bottom", Math.ceil(bounds.y + bounds.height));
      if (toggle.checked) { query.set("flagged", "1"); }
    }
    return query.toString();
  }

  function say(answer) {
    var flaggedOnly = toggle.checked;
    var what = flaggedOnly ? "flagged cell" : "cell";
    var inView = byRegion ? " in view" : "";
    var shown = flaggedOnly && !byRegion ?
      answer.cells.filter(function (cell) { return cell[4] === 1; }).length : answer.shown;
    var total = flaggedOnly && !byRegion ? shown : answer.in_region;
    status.textContent = answer.truncated ?
      "Showing the " + answer.shown + " most suspicious of " + total + " " + what + "s" +
        inView + ": zoom in to see them all." :
      total + " " + what + (total === 1 ? "" : "s") + inView + " marked.";
  }

  function fetchCells() {
    var mine = ++request;
    var url = container.dataset.cellsUrl + "?" + regionQuery();
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("the server answered " + response.status); }
        return response.json();
      })
      .then(function (answer) {
        if (mine !== request) { return; }  // a newer view's cells are on their way
        classes = answer.classes;
        cells = answer.cells;
        draw();
        say(answer);
        container.dataset.cellsDrawn = String(cells.length);
        container.dataset.ready = "true";
      })
      .catch(function (error) {
        status.textContent = "The cells could not be loaded (" + error.message +
          "); reload the page to try again.";
      });
  }

  function fetchSoon() {
    clearTimeout(fetchTimer);
    fetchTimer = setTimeout(fetchCells, 150);
  }

  viewer.addHandler("open", function () {
    if (focus) {
      // The cell and its nearest neighbours: about eight nuclei across.
      var side = 200;
      var box = viewer.viewport.imageToViewportRectangle(
        focus.x - side / 2, focus.y - side / 2, side, side);
      viewer.viewport.fitBounds(box, true);
    }
    fetchCells();
  });
  viewer.addHandler("open-failed", function (event) {
    status.textContent = "The image could not be opened for viewing (" + event.message + ").";
  });
  viewer.addHandler("update-viewport", follow);
  viewer.addHandler("animation-finish", function () {
    follow();
    if (byRegion) { fetchSoon(); }
  });

  toggle.addEventListener("change", function () {
    overlay.classList.toggle("flagged-only", toggle.checked);
    if (byRegion) { fetchCells(); } else if (cells.length) {
      say({cells: cells, shown: cells.length, in_region: cells.length, truncated: false});
    }
  });
});

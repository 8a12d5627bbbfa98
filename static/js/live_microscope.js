// The live microscope view: the camera's picture (getUserMedia), a frame sent to the server
// every second or on demand, the cells it finds drawn over the picture in their class's
// colour with a text legend, and "Capture this field" storing the current picture in the
// specimen. No inline script or style (the Content-Security-Policy forbids them).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var video = document.getElementById("live-video");
  var overlay = document.getElementById("live-overlay");
  var stage = document.getElementById("live-stage");
  var status = document.getElementById("live-status");
  var legend = document.getElementById("live-legend");
  var captureResult = document.getElementById("live-capture-result");
  var everySecond = document.getElementById("live-every-second");
  var analyseNow = document.getElementById("live-analyse-now");
  var captureButton = document.getElementById("live-capture");
  var csrfToken = live.querySelector("input[name=csrfmiddlewaretoken]").value;
  var maxPixels = Number(live.dataset.maxPixels);
  var SVG = "http://www.w3.org/2000/svg";
  var inFlight = false;
  var framesDrawn = 0;

  function say(text) { status.textContent = text; }

  // The video's current picture on a canvas, scaled down to the server's frame limit.
  function grabFrame() {
    var width = video.videoWidth, height = video.videoHeight;
    var shrink = Math.min(1, Math.sqrt(maxPixels / (width * height)));
    var canvas = document.createElement("canvas");
    canvas.width = Math.floor(width * shrink);
    canvas.height = Math.floor(height * shrink);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return canvas;
  }

  function frameBlob(quality) {
    var canvas = grabFrame();
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) {
        if (blob) { resolve(blob); } else { reject(new Error("the picture could not be encoded")); }
      }, "image/jpeg", quality);
    });
  }

  function post(url, blob, fields) {
    var form = new FormData();
    form.append("frame", blob, "live.jpg");
    Object.keys(fields).forEach(function (name) { form.append(name, fields[name]); });
    return fetch(url, {method: "POST", body: form, credentials: "same-origin",
                       headers: {"X-CSRFToken": csrfToken}})
      .then(function (response) {
        return response.json().catch(function () {
          return {error: "The server answered " + response.status + "."};
        }).then(function (answer) { answer.httpStatus = response.status; return answer; });
      });
  }

  function drawCells(answer) {
    overlay.width = answer.width;
    overlay.height = answer.height;
    var context = overlay.getContext("2d");
    var colours = {};
    answer.classes.forEach(function (item) { colours[item.name] = item.colour; });
    var thin = Math.max(2, answer.width / 400);
    answer.cells.forEach(function (cell) {
      context.beginPath();
      context.setLineDash(cell.flagged ? [thin * 3, thin * 2] : []);
      context.lineWidth = cell.flagged ? thin * 2 : thin;
      context.strokeStyle = colours[cell["class"]] || "#000000";
      context.arc(cell.x, cell.y, Math.max(cell.radius * 1.6, 8), 0, 2 * Math.PI);
      context.stroke();
    });
  }

  function swatch(colour) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    var circle = document.createElementNS(SVG, "circle");
    circle.setAttribute("cx", "8");
    circle.setAttribute("cy", "8");
    circle.setAttribute("r", "6");
    circle.setAttribute("fill", "none");
    circle.setAttribute("stroke", colour);
    circle.setAttribute("stroke-width", "3");
    svg.appendChild(circle);
    return svg;
  }

  function showLegend(answer) {
    var counts = {};
    answer.cells.forEach(function (cell) {
      var count = counts[cell["class"]] || (counts[cell["class"]] = {cells: 0, flagged: 0});
      count.cells += 1;
      if (cell.flagged) { count.flagged += 1; }
    });
    legend.textContent = "";
    answer.classes.forEach(function (item) {
      var count = counts[item.name] || {cells: 0, flagged: 0};
      var entry = document.createElement("li");
      entry.appendChild(swatch(item.colour));
      entry.appendChild(document.createTextNode(" " + item.name + ": " + count.cells +
        " cell" + (count.cells === 1 ? "" : "s") +
        (count.flagged ? ", " + count.flagged + " flagged (dashed)" : "")));
      legend.appendChild(entry);
    });
  }

  function summary(answer, latency) {
    var text = answer.cells_found + " cell" + (answer.cells_found === 1 ? "" : "s") + " found, " +
      answer.cells_classified + " classified";
    if (answer.capped) {
      text += " (the best detected, as many as " + answer.time_budget_ms + " ms allow, at most " +
        answer.cell_limit + "; the others are not drawn)";
    }
    return text + " in " + latency + " ms (server " + answer.server_ms + " ms).";
  }

  function analyse() {
    if (inFlight || !video.videoWidth) { return; }
    inFlight = true;
    stage.dataset.analysing = "true";
    var started = performance.now();
    frameBlob(0.9).then(function (blob) {
      return post(live.dataset.frameUrl, blob, {session: live.dataset.session});
    }).then(function (answer) {
      if (answer.error) { say(answer.error); return; }
      drawCells(answer);
      showLegend(answer);
      var latency = Math.round(performance.now() - started);
      stage.dataset.cells = String(answer.cells.length);
      stage.dataset.latencyMs = String(latency);
      stage.dataset.serverMs = String(answer.server_ms);
      framesDrawn += 1;
      stage.dataset.frames = String(framesDrawn);
      say(summary(answer, latency));
    }).catch(function (error) {
      say("The frame could not be analysed: " + error.message + ".");
    }).then(function () { inFlight = false; delete stage.dataset.analysing; });
  }

  function capture() {
    if (!video.videoWidth) { return; }
    captureButton.disabled = true;
    captureResult.textContent = "Storing this field…";
    frameBlob(0.95).then(function (blob) {
      return post(live.dataset.captureUrl, blob, {});
    }).then(function (answer) {
      captureResult.textContent = answer.error || answer.message;
      if (answer.field_url) {
        var link = document.createElement("a");
        link.href = answer.field_url;
        link.textContent = "Open field " + answer.name;
        captureResult.appendChild(document.createTextNode(" "));
        captureResult.appendChild(link);
      }
    }).catch(function (error) {
      captureResult.textContent = "The field could not be stored: " + error.message + ".";
    }).then(function () { captureButton.disabled = false; });
  }

  analyseNow.addEventListener("click", analyse);
  if (captureButton) { captureButton.addEventListener("click", capture); }
  window.setInterval(function () { if (everySecond.checked) { analyse(); } }, 1000);

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say("This browser gives no access to a camera (it needs a recent browser, and the site " +
        "served over HTTPS).");
    return;
  }
  navigator.mediaDevices.getUserMedia({video: {width: {ideal: 1280}, height: {ideal: 960}},
                                       audio: false})
    .then(function (stream) {
      video.srcObject = stream;
      video.addEventListener("loadedmetadata", function () {
        say("Camera on: " + video.videoWidth + " × " + video.videoHeight + " px.");
      });
    })
    .catch(function (error) {
      say("The camera could not be opened (" + error.name + "): allow this site to use the " +
          "camera, and check that the microscope camera is connected.");
    });
});

// The specimen page's charts: class distribution and confidence histogram, drawn with the
// vendored Plotly from the data the view puts in <script id="specimen-charts">.
(function () {
  "use strict";

  function cssColour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function layout(xTitle, yTitle, extraX) {
    return {
      // automargin grows the margins to fit the tick labels: long class names such as
      // Superficial-Intermediate, tilted in a narrow window, are never cut off.
      height: 300, margin: {t: 10, r: 10, b: 40, l: 50}, bargap: 0.1,
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      xaxis: Object.assign({title: {text: xTitle}, automargin: true}, extraX || {}),
      yaxis: {title: {text: yTitle}, rangemode: "tozero", dtick: null, automargin: true},
    };
  }

  function render() {
    var source = document.getElementById("specimen-charts");
    if (!source || !window.Plotly) return;
    var data = JSON.parse(source.textContent);
    var config = {displayModeBar: false, responsive: true};
    var colours = data.classes.map(function (name) {
      return data.abnormal_classes.indexOf(name) >= 0 ? cssColour("--bad") : cssColour("--accent");
    });
    Plotly.newPlot("class-chart", [{
      type: "bar", x: data.classes, y: data.counts, marker: {color: colours},
      hovertemplate: "%{x}: %{y} cells<extra></extra>",
    }], layout("Predicted class", "Cells"), config);
    Plotly.newPlot("confidence-chart", [{
      type: "histogram", x: data.confidences, marker: {color: cssColour("--accent")},
      xbins: {start: 0, end: 1.0001, size: 0.05},
      hovertemplate: "%{x}: %{y} cells<extra></extra>",
    }], layout("Calibrated probability", "Cells", {range: [0, 1]}), config);
  }

  document.addEventListener("DOMContentLoaded", render);
})();

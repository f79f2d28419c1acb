/* Feed health charts (the feeds overview, a feed's health section): every element with
   data-health-figure="<id>" is drawn with Plotly from the JSON of <script id="<id>"> (json_script).
   plotly.min.js is loaded deferred beside this file; an htmx swap that brings a new chart is
   drawn when it settles. */
(function () {
  "use strict";
  var base = {
    height: 240, margin: {l: 56, r: 24, t: 8, b: 44},
    font: {family: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size: 12, color: "#1d2530"},
    paper_bgcolor: "#fff", plot_bgcolor: "#fff", hovermode: "closest", showlegend: false
  };
  var axis = {gridcolor: "#eef1f4", linecolor: "#c5ccd5", zeroline: false, automargin: true};
  var config = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"]};

  function draw() {
    if (!window.Plotly) { return; }
    document.querySelectorAll("[data-health-figure]:not([data-drawn])").forEach(function (el) {
      var source = document.getElementById(el.dataset.healthFigure);
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      var layout = Object.assign({}, base, figure.layout);
      // A fresh copy per chart: Plotly writes what it infers into the objects it is given.
      ["xaxis", "yaxis"].forEach(function (name) { layout[name] = Object.assign({}, axis, layout[name]); });
      el.dataset.drawn = "1";
      window.Plotly.newPlot(el, figure.data, layout, config);
    });
  }

  // Both scripts are deferred: by DOMContentLoaded, Plotly (loaded first) is there.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  document.addEventListener("htmx:afterSettle", draw);
})();

/* Charts from JSON: window.ctFigures(attribute, layout) draws, with Plotly, every element
   carrying data-<attribute>="<id>" from the JSON of <script id="<id>"> (json_script), in the
   house style (`layout` adds to it), once the page has loaded and whenever an htmx swap settles.
   Loaded by templates/_plotly.html, deferred after plotly.min.js and before the page's script. */
(function () {
  "use strict";
  var style = {
    margin: {l: 56, r: 24, t: 8, b: 40},
    font: {family: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size: 12, color: "#1d2530"},
    paper_bgcolor: "#fff", plot_bgcolor: "#fff", hovermode: "closest"
  };
  var axis = {gridcolor: "#eef1f4", linecolor: "#c5ccd5", zeroline: false, automargin: true};
  var config = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"]};

  window.ctFigures = function (attribute, layout) {
    var key = attribute.replace(/-([a-z])/g, function (_, c) { return c.toUpperCase(); });
    var base = Object.assign({}, style, layout);
    function draw() {
      if (!window.Plotly) { return; }
      document.querySelectorAll("[data-" + attribute + "]:not([data-drawn])").forEach(function (el) {
        var source = document.getElementById(el.dataset[key]);
        if (!source) { return; }
        var figure = JSON.parse(source.textContent);
        var merged = Object.assign({}, base, figure.layout);
        // A fresh copy per chart: Plotly writes what it infers (an axis type) into the objects it gets.
        ["xaxis", "yaxis"].forEach(function (name) { merged[name] = Object.assign({}, axis, merged[name]); });
        if (merged.yaxis2) { merged.yaxis2 = Object.assign({}, axis, merged.yaxis2, {showgrid: false}); }
        el.dataset.drawn = "1";
        window.Plotly.newPlot(el, figure.data, merged, config);
      });
    }
    // The scripts are deferred: by DOMContentLoaded, Plotly (loaded first) is there.
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", draw);
    } else {
      draw();
    }
    document.body.addEventListener("htmx:afterSettle", draw);
  };
})();

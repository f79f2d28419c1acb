/* The order page's timeline (templates/correlation/order_detail.html): one lane per system, a
   point per event, drawn with Plotly from the JSON of <script id="timeline-data"> (json_script).
   plotly.min.js is loaded deferred before this file; the live refresh swaps #order-live, and the
   new chart is drawn when the swap settles. */
(function () {
  "use strict";

  function esc(s) { return String(s || "—").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }

  function trace(points, name, color, symbol, size) {
    return {
      type: "scatter", mode: "markers", name: name,
      x: points.map(function (p) { return p.x; }),
      y: points.map(function (p) { return p.lane; }),
      customdata: points.map(function (p) { return [esc(p.type), esc(p.time), esc(p.feed), esc(p.event_id), esc(p.status), esc(p.reason)]; }),
      hovertemplate: "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>feed %{customdata[2]} · %{customdata[3]}" +
        "<br>source status: %{customdata[4]}<br>reason: %{customdata[5]}<extra></extra>",
      marker: {color: color, symbol: symbol, size: size, line: {color: "#fff", width: 1.5}}
    };
  }

  function draw() {
    var el = document.getElementById("timeline-chart");
    var source = document.getElementById("timeline-data");
    if (!el || !source || !window.Plotly || el.dataset.drawn) { return; }
    var data = JSON.parse(source.textContent);
    var normal = data.points.filter(function (p) { return !p.exception; });
    var exceptions = data.points.filter(function (p) { return p.exception; });
    var lanes = data.lanes.slice().reverse();  // ERP on top, last mile at the bottom
    var traces = [
      {type: "scatter", mode: "markers", x: lanes.map(function () { return data.points[0].x; }), y: lanes,
       marker: {opacity: 0}, hoverinfo: "skip", showlegend: false},
      trace(normal, "milestone", "#1d5fa8", "circle", 11),
      trace(exceptions, "exception", "#c0392b", "diamond", 14)
    ];
    var shapes = [], annotations = [];
    var mark = function (at, label, color) {
      if (!at) { return; }
      shapes.push({type: "line", xref: "x", yref: "paper", x0: at, x1: at, y0: 0, y1: 1, line: {color: color, width: 1.5, dash: "dash"}});
      annotations.push({x: at, xref: "x", y: 1, yref: "paper", yanchor: "bottom", text: label, showarrow: false, font: {size: 11, color: color}});
    };
    mark(data.promised_by, "promised", "#8a5a00");
    mark(data.eta, "ETA", "#1f7a3f");
    mark(data.now, "now", "#5b6675");
    el.dataset.drawn = "1";
    window.Plotly.newPlot(el, traces, {
      height: 250, margin: {l: 78, r: 24, t: 24, b: 36},
      font: {family: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size: 12, color: "#1d2530"},
      paper_bgcolor: "#fff", plot_bgcolor: "#fff", hovermode: "closest",
      xaxis: {type: "date", gridcolor: "#eef1f4", linecolor: "#c5ccd5", zeroline: false},
      yaxis: {type: "category", categoryorder: "array", categoryarray: lanes, range: [-0.5, lanes.length - 0.5],
              gridcolor: "#dde2e8", fixedrange: true, ticksuffix: "  "},
      showlegend: false, shapes: shapes, annotations: annotations
    }, {displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"]});
  }

  // Both scripts are deferred: by DOMContentLoaded, Plotly (loaded first) is there.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  document.addEventListener("htmx:afterSettle", draw);
})();

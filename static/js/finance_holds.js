/* The invoice holds page (templates/finance/holds.html): one results refresh per burst of
   hold.changed pushes, and the chart of what is held, drawn with Plotly from the JSON of
   <script id="hold-chart-data"> (json_script). plotly.min.js is loaded deferred before this
   file; a refreshed chart is drawn when its swap settles. */
(function () {
  "use strict";
  var body = document.body;
  // One refresh per burst of pushes: a batch of PODs releases many holds at once.
  var timer = null;
  body.addEventListener("live:hold-changed", function () {
    if (timer) { return; }
    timer = setTimeout(function () { timer = null; body.dispatchEvent(new CustomEvent("finance:refresh")); }, 500);
  });
  body.addEventListener("live:reconnected", function () { body.dispatchEvent(new CustomEvent("finance:refresh")); });
  var layout = {
    barmode: "stack", height: 260, margin: {l: 64, r: 16, t: 8, b: 40},
    font: {family: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size: 12, color: "#1d2530"},
    paper_bgcolor: "#fff", plot_bgcolor: "#fff", legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom", title: {text: "held for"}},
    xaxis: {gridcolor: "#eef1f4", automargin: true}, yaxis: {gridcolor: "#eef1f4", automargin: true, title: {text: ""}}
  };
  function draw() {
    var el = document.getElementById("hold-chart");
    var data = document.getElementById("hold-chart-data");
    if (!window.Plotly || !el || !data || el.dataset.drawn) { return; }
    var chart = JSON.parse(data.textContent);
    var l = Object.assign({}, layout, {yaxis: Object.assign({}, layout.yaxis, {title: {text: "amount held (" + chart.currency + ")"}})});
    el.dataset.drawn = "1";
    window.Plotly.newPlot(el, chart.traces, l, {displaylogo: false, responsive: true});
  }
  // Both scripts are deferred: by DOMContentLoaded, Plotly (loaded first) is there.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  body.addEventListener("htmx:afterSettle", draw);
})();

/* The operations dashboard (templates/dashboard/dashboard.html): relays live events into
   refreshes of the counters and the charts, and draws every element with data-figure="<id>"
   (static/js/figures.js, loaded deferred before this file with plotly.min.js). */
(function () {
  "use strict";
  var body = document.body;
  // Live events come in bursts. htmx's own throttle drops the events after the first, so the
  // last change of a burst could be missed; this relay refreshes at once and once more after.
  var relay = function (name, ms) {
    var timer = null, again = false;
    var fire = function () { body.dispatchEvent(new CustomEvent(name)); };
    var tick = function () { if (again) { again = false; fire(); timer = setTimeout(tick, ms); } else { timer = null; } };
    return function () { if (timer) { again = true; return; } fire(); timer = setTimeout(tick, ms); };
  };
  var counters = relay("dash:counters", 1000), charts = relay("dash:charts", 30000);
  ["live:exception-opened", "live:exception-updated", "live:order-updated"].forEach(function (name) {
    body.addEventListener(name, function () { counters(); charts(); });
  });
  body.addEventListener("live:reconnected", function () {
    body.dispatchEvent(new CustomEvent("dash:counters"));
    body.dispatchEvent(new CustomEvent("dash:charts"));
  });

  window.ctFigures("figure", {height: 290, legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom"}});
})();

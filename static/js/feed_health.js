/* Feed health charts (the feeds overview, a feed's health section): every element with
   data-health-figure="<id>" is drawn by static/js/figures.js (loaded with plotly.min.js, before
   this file), in the house style, smaller and without a legend. */
(function () {
  "use strict";
  window.ctFigures("health-figure", {height: 240, margin: {l: 56, r: 24, t: 8, b: 44}, showlegend: false});
})();

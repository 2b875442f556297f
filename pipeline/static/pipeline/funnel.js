/* Draws the funnel figure built in Python (pipeline.charts) with plotly.js. */
(function () {
  "use strict";
  const data = document.getElementById("funnel-figure");
  const el = document.getElementById("funnel-chart");
  if (!data || !el || !window.Plotly) return;
  const figure = JSON.parse(data.textContent);
  window.Plotly.newPlot(el, figure.data, figure.layout, { displayModeBar: false, responsive: true });
})();

// Draws every chart of a page: <div data-figure="id"> + json_script "id".
// A figure built with nothing to show carries "empty": the card then says so
// (with the chart's title) instead of drawing axes.
// Before drawing, the layout is made to fit the card it sits in: the legend
// goes in a row of its own between the title and the plot (never over bars or
// lines), axis labels get the room they need, and text drawn outside funnel
// bars or gauges is not clipped.
(function () {
  function kinds(fig) {
    return (fig.data || []).map(function (t) { return t.type || "scatter"; });
  }

  function tidy(fig) {
    var layout = fig.layout || {};
    var types = kinds(fig);
    var margin = layout.margin = layout.margin || {};
    var cartesian = types.some(function (t) { return t !== "indicator" && t !== "pie"; });
    if (cartesian) {
      ["xaxis", "yaxis"].forEach(function (axis) {
        layout[axis] = layout[axis] || {};
        layout[axis].automargin = true;
      });
    }
    var legend = (fig.data || []).filter(function (t) { return t.showlegend !== false; }).length > 1;
    if (legend && layout.showlegend !== false) {
      layout.legend = Object.assign({}, layout.legend, {
        orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom"
      });
      margin.t = Math.max(margin.t || 0, 84);
      var title = typeof layout.title === "string" ? { text: layout.title } : (layout.title || {});
      layout.title = Object.assign({}, title, { y: 0.97, yanchor: "top", yref: "container" });
    }
    if (types.indexOf("funnel") >= 0) {
      margin.r = Math.max(margin.r || 0, 110);
      (fig.data || []).forEach(function (t) { t.cliponaxis = false; });
      // Inside a narrow bar a label shrinks until it cannot be read: hide it
      // instead (the figures are in the Numbers table).
      layout.uniformtext = { minsize: 10, mode: "hide" };
    }
    if (types.indexOf("indicator") >= 0) {
      margin.l = Math.max(margin.l || 0, 45);
      margin.r = Math.max(margin.r || 0, 45);
    }
    fig.layout = layout;
    return fig;
  }

  function draw() {
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.figure);
      if (!source || !window.Plotly) { return; }
      var fig = JSON.parse(source.textContent);
      if (fig.empty) {
        var title = ((fig.layout || {}).title || {}).text || "";
        el.classList.add("chart-empty");
        el.innerHTML = "";
        if (title) {
          var head = document.createElement("p");
          head.className = "chart-title";
          head.textContent = title;
          el.appendChild(head);
        }
        var note = document.createElement("p");
        note.className = "chart-note";
        note.textContent = fig.empty;
        el.appendChild(note);
        el.dataset.drawn = "empty";
        return;
      }
      fig = tidy(fig);
      window.Plotly.newPlot(el, fig.data, fig.layout, { displayModeBar: false, responsive: true });
      el.dataset.drawn = "1";
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
  // Charts that htmx swaps in (a live what-if) are drawn once they settle.
  document.addEventListener("htmx:afterSettle", draw);
})();

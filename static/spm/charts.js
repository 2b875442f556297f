// Draws every chart of a page: <div data-figure="id"> + json_script "id".
// A figure built with nothing to show carries "empty": the card then says so
// (with the chart's title) instead of drawing axes.
// Before drawing, the layout is made to fit the card it sits in: the legend
// goes in a row of its own between the title and the plot (never over bars or
// lines), a title too long for the card (a phone) wraps onto more lines, axis
// labels get the room they need, and text drawn outside funnel bars or gauges
// is not clipped.
(function () {
  var TITLE_CHAR_PX = 8.5;  // the width of a character of a 15 px title, about
  var TITLE_LINE_PX = 20;
  var NARROW_PX = 500;

  function kinds(fig) {
    return (fig.data || []).map(function (t) { return t.type || "scatter"; });
  }

  // The title's words on lines of at most `width` pixels (none when it fits).
  function wrapped(text, width) {
    var most = Math.max(12, Math.floor(width / TITLE_CHAR_PX));
    if (!text || text.length <= most || text.indexOf("<br>") >= 0) { return text; }
    var lines = [], line = "";
    text.split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > most) { lines.push(line); line = word; }
      else { line = line ? line + " " + word : word; }
    });
    lines.push(line);
    return lines.join("<br>");
  }

  function tidy(fig, width) {
    var layout = fig.layout || {};
    var types = kinds(fig);
    var margin = layout.margin = layout.margin || {};
    var title = typeof layout.title === "string" ? { text: layout.title } : (layout.title || {});
    var titleText = wrapped(title.text || "", width - 20);
    var titleExtra = (titleText.split("<br>").length - 1) * TITLE_LINE_PX;
    layout.title = Object.assign({}, title, { text: titleText });
    margin.t = (margin.t || 60) + titleExtra;
    if (layout.height) { layout.height += titleExtra; }
    var cartesian = types.some(function (t) { return t !== "indicator" && t !== "pie"; });
    if (cartesian) {
      ["xaxis", "yaxis"].forEach(function (axis) {
        layout[axis] = layout[axis] || {};
        layout[axis].automargin = true;
      });
    }
    var items = (fig.data || []).filter(function (t) { return t.showlegend !== false; }).length;
    if (items > 1 && layout.showlegend !== false) {
      // On a phone the legend is a column, one entry a line, so the room it
      // takes above the plot is known and the title keeps its own.
      var narrow = width < NARROW_PX;
      var rows = narrow ? items : legendRows(fig, width);
      layout.legend = Object.assign({}, layout.legend, {
        orientation: narrow ? "v" : "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom"
      });
      var top = 64 + titleExtra + rows * TITLE_LINE_PX;
      if (layout.height && top > margin.t) { layout.height += top - margin.t; }
      margin.t = Math.max(margin.t, top);
      Object.assign(layout.title, { y: 0.97, yanchor: "top", yref: "container" });
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

  // How many rows a horizontal legend takes in `width` pixels (about: an
  // entry is its name plus its symbol).
  function legendRows(fig, width) {
    var rows = 1, used = 0;
    (fig.data || []).forEach(function (t) {
      if (t.showlegend === false) { return; }
      var entry = String(t.name || "").length * 7 + 45;
      if (used && used + entry > width - 40) { rows += 1; used = 0; }
      used += entry;
    });
    return rows;
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
      fig = tidy(fig, el.clientWidth || 600);
      window.Plotly.newPlot(el, fig.data, fig.layout, { displayModeBar: false, responsive: true });
      el.dataset.drawn = "1";
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
  // Charts that htmx swaps in (a live what-if) are drawn once they settle.
  document.addEventListener("htmx:afterSettle", draw);
})();

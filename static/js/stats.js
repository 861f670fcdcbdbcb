// Statistics charts: each <canvas data-chart="ID"> draws the JSON in <script type="application/json" id="ID">.
// Rates arrive as 0–1 (null when undefined) and are drawn as percentages; the table beside each
// chart carries the same numbers for anyone who cannot see the chart.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") { return; }
  var COLORS = ["#0d47a1", "#e65100", "#2e7d32", "#6a1b9a"];
  function percent(value) {
    return value === null || value === undefined ? null : Math.round(value * 1000) / 10;
  }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    var datasets = spec.datasets.map(function (d, i) {
      return {
        label: d.label,
        data: d.data.map(percent),
        borderColor: COLORS[i % COLORS.length],
        backgroundColor: COLORS[i % COLORS.length],
        spanGaps: true,
        tension: 0.2
      };
    });
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        scales: { y: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } } },
        plugins: {
          tooltip: { callbacks: { label: function (c) { return c.dataset.label + "：" + (c.parsed.y === null ? "—" : c.parsed.y + "%"); } } }
        }
      }
    });
    canvas.setAttribute("data-rendered", "1");
  });
})();

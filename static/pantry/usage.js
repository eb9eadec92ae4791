// Usage dashboards: draws each <canvas data-usage-chart="name"> with Chart.js from the page's
// JSON data island (#usage-chart-data, written by Django's json_script). The tables under the
// charts hold the same figures and work without JavaScript; once a chart is drawn its table
// folds away (one click on "Table" opens it again).
(function () {
  "use strict";

  function draw() {
    var island = document.getElementById("usage-chart-data");
    if (!island || typeof window.Chart === "undefined") return;
    var data = JSON.parse(island.textContent);
    document.querySelectorAll("canvas[data-usage-chart]").forEach(function (canvas) {
      var spec = data[canvas.dataset.usageChart];
      if (!spec || !spec.labels.length || !spec.datasets.length) return;
      var chart = new window.Chart(canvas, {
        type: spec.type,
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (d) {
            return { label: d.label, data: d.data, fill: false, tension: 0.2 };
          }),
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          indexAxis: spec.horizontal ? "y" : "x",
          plugins: { legend: { display: spec.datasets.length > 1, position: "bottom" } },
          scales: {
            x: { stacked: spec.stacked, beginAtZero: true },
            y: { stacked: spec.stacked, beginAtZero: true },
          },
        },
      });
      canvas.dataset.drawn = "true";
      canvas.usageChart = chart;
      var table = canvas.closest(".card-body").querySelector("details.usage-table");
      if (table) table.removeAttribute("open");
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

// Staff console, Insights: draws the charts from the page's numbers (the #chart-data JSON, also shown in tables).
// Chart.js is served from /static/ (pinned in web/package.json); without it the tables remain.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("chart-data");
  if (!source || typeof window.Chart !== "function") return;
  const data = JSON.parse(source.textContent);
  const brand = "#0b5f66";
  const palette = ["#0b5f66", "#b34700", "#4a5560", "#7a1a12", "#1d4a27", "#6b4fa0", "#8a6d00"];
  window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  window.Chart.defaults.color = "#1b1f23";

  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const series = data[canvas.dataset.chart];
    if (!series) continue;
    const kind = canvas.dataset.kind;
    const doughnut = kind === "doughnut";
    const config = {
      type: doughnut ? "doughnut" : "bar",
      data: {
        labels: series.labels,
        datasets: [
          {
            label: kind === "percent" ? "Percent" : "Count",
            data: series.values,
            backgroundColor: doughnut ? series.values.map((_, i) => palette[i % palette.length]) : brand,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false, // numbers to read, not a show (and a resize redraws at once)
        indexAxis: kind === "hbar" ? "y" : "x",
        plugins: { legend: { display: doughnut, position: "right" } },
      },
    };
    if (!doughnut) {
      const valueAxis = kind === "hbar" ? "x" : "y";
      config.options.scales = { [valueAxis]: { beginAtZero: true, ticks: { precision: 0 } } };
      if (kind === "percent") config.options.scales.y.max = 100;
    }
    canvas.chart = new window.Chart(canvas, config);
  }
});

/* OrderWatch model page (D2): the calibration plot, drawn with Chart.js (served from /assets)
   from the page's JSON block #calibration-data: observed against predicted late rate per decile
   of predicted risk, at purchase and at hand-off, with the diagonal of a perfectly calibrated
   model. The same figures are in the table under the chart. No inline script (CSP). */
(function () {
  "use strict";

  var COLOURS = { purchase: "#1d4ed8", handoff: "#15803d", ideal: "#9ca3af" };

  function points(bins) {
    return bins.map(function (bin) { return { x: bin.predicted, y: bin.observed, n: bin.n, decile: bin.decile }; });
  }

  function draw() {
    var source = document.getElementById("calibration-data");
    var canvas = document.getElementById("calibration-chart");
    if (!source || !canvas || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var format = new Intl.NumberFormat(data.locale, { style: "percent", maximumFractionDigits: 1 });
    var datasets = [];
    ["purchase", "handoff"].forEach(function (stage) {
      var bins = data.calibration[stage] || [];
      if (!bins.length) { return; }
      datasets.push({ type: "line", label: data.text[stage], data: points(bins), borderColor: COLOURS[stage],
                      backgroundColor: COLOURS[stage], borderWidth: 2, pointRadius: 4, tension: 0 });
    });
    datasets.push({ type: "line", label: data.text.ideal, data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
                    borderColor: COLOURS.ideal, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0 });
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        parsing: false,
        scales: {
          x: { type: "linear", min: 0, max: 1, title: { display: true, text: data.text.predicted },
               ticks: { callback: function (v) { return format.format(v); } } },
          y: { min: 0, max: 1, title: { display: true, text: data.text.observed },
               ticks: { callback: function (v) { return format.format(v); } } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (item) {
                var p = item.raw;
                return item.dataset.label + ": " + format.format(p.x) + " → " + format.format(p.y) +
                  (p.n ? " (n=" + p.n + ")" : "");
              },
            },
          },
        },
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

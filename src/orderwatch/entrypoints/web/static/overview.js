/* OrderWatch overview charts (D14, U14): draws the monthly delay rate and satisfaction with
   Chart.js (served from /assets, installed by npm at set-up) from the page's JSON block
   #overview-data. A null is a month without data and stays a gap (spanGaps: false), never a
   zero; the current month is drawn hollow with a dashed segment and labelled "partial".
   No inline script or style: the page's CSP allows only scripts from this site. */
(function () {
  "use strict";

  var COLOURS = {
    delay: "#1d4ed8",
    delayByDay: "#0e7490",
    satisfaction: "#15803d",
    response: "#cbd5e1",
    target: "#dc2626",
  };

  function percentFormat(locale) {
    return new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
  }

  function monthLabels(data) {
    return data.labels.map(function (label, index) {
      return data.series.partial[index] ? label + " (" + data.text.partial + ")" : label;
    });
  }

  // The segment into a partial month is dashed: its value is still moving.
  function partialSegments(partial) {
    return {
      borderDash: function (context) { return partial[context.p1DataIndex] ? [4, 4] : undefined; },
    };
  }

  function pointStyle(partial, colour) {
    return {
      pointRadius: 4,
      pointHoverRadius: 6,
      pointBorderColor: colour,
      pointBackgroundColor: partial.map(function (p) { return p ? "#ffffff" : colour; }),
    };
  }

  function line(label, values, colour, partial, extra) {
    return Object.assign(
      { type: "line", label: label, data: values, borderColor: colour, backgroundColor: colour,
        borderWidth: 2, spanGaps: false, tension: 0, segment: partialSegments(partial) },
      pointStyle(partial, colour),
      extra || {}
    );
  }

  function targetLine(label, value, count) {
    var values = [];
    for (var i = 0; i < count; i += 1) { values.push(value); }
    return { type: "line", label: label, data: values, borderColor: COLOURS.target, borderWidth: 1.5,
             borderDash: [6, 4], pointRadius: 0, pointHoverRadius: 0, fill: false };
  }

  function options(format, max) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        y: { beginAtZero: true, suggestedMax: max, ticks: { callback: function (v) { return format.format(v); } } },
        x: { ticks: { maxRotation: 0, autoSkip: true } },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 14, usePointStyle: false } },
        tooltip: {
          callbacks: {
            label: function (item) {
              var value = item.raw === null ? "—" : format.format(item.raw);
              return item.dataset.label + ": " + value;
            },
          },
        },
      },
    };
  }

  function drawDelay(canvas, data, format) {
    var s = data.series;
    var count = s.months.length;
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: monthLabels(data),
        datasets: [
          line(data.text.delay_rate, s.delay_rate, COLOURS.delay, s.partial),
          line(data.text.delay_rate_by_day, s.delay_rate_by_day, COLOURS.delayByDay, s.partial,
               { borderWidth: 1.5, pointRadius: 3 }),
          targetLine(data.text.delay_target, data.targets.delay_rate, count),
        ],
      },
      options: options(format, data.targets.delay_rate * 2),
    });
  }

  function drawSatisfaction(canvas, data, format) {
    var s = data.series;
    var opts = options(format, 1);
    opts.scales.y.max = 1;
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: monthLabels(data),
        datasets: [
          line(data.text.satisfaction, s.satisfaction, COLOURS.satisfaction, s.partial, { order: 0 }),
          targetLine(data.text.satisfaction_target, data.targets.satisfaction, s.months.length),
          { type: "bar", label: data.text.response_rate, data: s.response_rate,
            backgroundColor: COLOURS.response, borderColor: "#94a3b8", borderWidth: 1, order: 2,
            maxBarThickness: 28 },
        ],
      },
      options: opts,
    });
  }

  function draw() {
    var source = document.getElementById("overview-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var format = percentFormat(data.locale);
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#374151";
    var delay = document.getElementById("delay-chart");
    var satisfaction = document.getElementById("satisfaction-chart");
    if (delay) { drawDelay(delay, data, format); }
    if (satisfaction) { drawSatisfaction(satisfaction, data, format); }
  }

  // The month-basis selector applies on change; its button remains for keyboards and no-JS.
  function autoSubmit() {
    var select = document.getElementById("basis");
    if (select && select.form) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(); autoSubmit(); });
  } else {
    draw();
    autoSubmit();
  }
})();

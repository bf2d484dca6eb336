// Charts of the dashboard and the data-quality page, drawn with the vendored Chart.js.
// Each <canvas data-chart="ID"> names a <script type="application/json" id="ID"> (Django's
// json_script, inside a <template>) holding its figures, so no page carries an inline script:
//   {"kind": "line" | "bar" | "doughnut" | "bubble", "labels": [...],
//    "datasets": [{"label": "...", "data": [...], "axis": "percent" | "days"}],
//    "stacked": true, "horizontal": true, "axes": {"x": "title", "y": "title"},
//    "bounds": {"min": 0.5, "max": 5.5}}
// Every chart also has a table with the same figures for screen readers and for print.
(function () {
  "use strict";

  // The figures are in a <template class="chart-figures"> next to the canvas (see
  // templates/_chart.html): htmx keeps a template's content when it swaps new figures in.
  function figures(canvas) {
    var id = canvas.getAttribute("data-chart");
    var templates = document.querySelectorAll("template.chart-figures");
    for (var index = 0; index < templates.length; index += 1) {
      var source = templates[index].content.getElementById(id);
      if (source) {
        return JSON.parse(source.textContent);
      }
    }
    return null;
  }

  function axisTitle(text) {
    return text ? { display: true, text: text } : { display: false };
  }

  function scales(spec) {
    var axes = spec.axes || {};
    if (spec.kind === "doughnut") {
      return {};
    }
    var result = {
      x: { stacked: !!spec.stacked, title: axisTitle(axes.x) },
      y: { stacked: !!spec.stacked, beginAtZero: true, title: axisTitle(axes.y) },
    };
    if (spec.bounds) {
      // A fixed grid (the RFM scores 1 to 5): the same axes whatever the figures.
      ["x", "y"].forEach(function (axis) {
        result[axis].min = spec.bounds.min;
        result[axis].max = spec.bounds.max;
        result[axis].ticks = { stepSize: 1 };
      });
    }
    var datasets = spec.datasets || [];
    var hasPercent = datasets.some(function (set) { return set.axis === "percent"; });
    var hasDays = datasets.some(function (set) { return set.axis === "days"; });
    if (hasPercent) {
      result[spec.horizontal ? "x" : "y"] = { min: 0, max: 100, title: axisTitle("%") };
    }
    if (hasDays) {
      result.days = { position: "right", beginAtZero: true, title: axisTitle(axes.days || "days"),
                      grid: { drawOnChartArea: false } };
    }
    return result;
  }

  function chartConfig(spec) {
    var datasets = (spec.datasets || []).map(function (set) {
      var dataset = { label: set.label, data: set.data };
      if (set.axis === "days") {
        dataset.yAxisID = "days";
      }
      if (spec.kind === "line") {
        dataset.spanGaps = true;
      }
      return dataset;
    });
    return {
      type: spec.kind,
      data: { labels: spec.labels || [], datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        scales: scales(spec),
        plugins: { legend: { display: datasets.length > 1 || spec.kind === "doughnut" } },
      },
    };
  }

  function charted(root) {
    return typeof window.Chart === "undefined" ? [] : root.querySelectorAll("canvas[data-chart]");
  }

  // Charts of content about to be replaced are let go.
  function forget(root) {
    charted(root).forEach(function (canvas) {
      var existing = window.Chart.getChart(canvas);
      if (existing) {
        existing.destroy();
      }
    });
  }

  function draw(root) {
    forget(root);
    charted(root).forEach(function (canvas) {
      var spec = figures(canvas);
      if (spec) {
        new window.Chart(canvas, chartConfig(spec));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  // The dashboard refreshes its figures with htmx: charts of the old content are let go, the
  // new content is drawn.
  document.addEventListener("htmx:beforeSwap", function (event) { forget(event.detail.target); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.detail.target); });
})();

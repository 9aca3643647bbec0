/* Gallery and the project page's "2. Data" card: class-balance charts, selecting images
 * (one, many, all on the page) to move or delete, and live count updates. */
(function () {
  "use strict";
  const charts = new Map();

  function drawChart(canvas, rows) {
    if (!window.Chart) return;
    const min = parseInt(canvas.dataset.min || "0", 10);
    const data = {
      labels: rows.map(function (r) { return r.name; }),
      datasets: [{
        label: "Images",
        data: rows.map(function (r) { return r.count; }),
        backgroundColor: rows.map(function (r) { return r.count < min ? "#ffc107" : "#0d6efd"; }),
      }],
    };
    let chart = charts.get(canvas);
    if (chart) { chart.data = data; chart.update(); return; }
    chart = new window.Chart(canvas, {
      type: "bar",
      data: data,
      options: {
        indexAxis: rows.length > 8 ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false },
          tooltip: { callbacks: { footer: function (items) {
            const n = items[0].raw; return n < min ? "needs " + (min - n) + " more" : ""; } } } },
        onClick: function (_ev, elements) {
          if (elements.length && canvas.dataset.link) {
            window.location = canvas.dataset.link + rows[elements[0].index].id;
          }
        },
      },
    });
    charts.set(canvas, chart);
  }

  function initCharts() {
    document.querySelectorAll("canvas.balance-chart[data-source]").forEach(function (canvas) {
      const src = document.getElementById(canvas.dataset.source);
      if (src) drawChart(canvas, JSON.parse(src.textContent));
    });
  }

  // Live: the project page's counts follow imports and uploads (snapshot + "data" events).
  function updatePanel(summary) {
    if (!summary) return;
    const table = document.getElementById("data-counts");
    if (table) {
      summary.labels.forEach(function (row) {
        const tr = table.querySelector('[data-label-id="' + row.id + '"] .data-count');
        if (tr) tr.textContent = row.count;
      });
    }
    const total = document.getElementById("data-total");
    if (total) total.textContent = summary.total + " image" + (summary.total === 1 ? "" : "s");
    const canvas = document.querySelector("#data canvas.balance-chart");
    if (canvas) drawChart(canvas, summary.labels);
  }
  if (window.AIMaker) {
    window.AIMaker.on("snapshot", function (ev) { updatePanel(ev.data); });
    window.AIMaker.on("data", function (ev) { updatePanel(ev.data); });
  }

  function initSelection() {
    const form = document.getElementById("gallery-form");
    if (!form) return;
    const all = document.getElementById("select-all");
    const boxes = function () { return Array.from(form.querySelectorAll(".select-image")); };
    const counter = document.getElementById("selected-count");
    function refresh() {
      const n = boxes().filter(function (b) { return b.checked; }).length;
      if (counter) counter.textContent = n + " selected";
      ["delete-selected", "move-selected", "release-selected", "keep-selected"].forEach(function (id) {
        const b = document.getElementById(id);
        if (b) b.disabled = n === 0;
      });
      if (all) {
        all.checked = n > 0 && n === boxes().length;
        all.indeterminate = n > 0 && n < boxes().length;
      }
    }
    if (all) all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      refresh();
    });
    form.addEventListener("change", function (ev) {
      if (ev.target.classList.contains("select-image")) refresh();
    });
    form.addEventListener("submit", function (ev) {
      const submitter = ev.submitter;
      if (submitter && submitter.value === "delete") {
        const n = boxes().filter(function (b) { return b.checked; }).length;
        if (!window.confirm("Delete " + n + " image" + (n === 1 ? "" : "s") + "? This cannot be undone.")) {
          ev.preventDefault();
          return;
        }
        const confirmed = document.createElement("input");
        confirmed.type = "hidden"; confirmed.name = "confirmed"; confirmed.value = "1";
        form.appendChild(confirmed);
      }
    });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () { initCharts(); initSelection(); });
})();

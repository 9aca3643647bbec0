/* Training: live run state (project card, run page), loss/accuracy curves (run page, history).
 * Everything arrives over the project websocket (live.js): a snapshot on every (re)connect,
 * then "training" (run state) and "training.epoch" (new epoch rows) events. No polling. */
(function () {
  "use strict";
  const AIMaker = (window.AIMaker = window.AIMaker || {});
  const BADGE = { queued: "secondary", running: "primary", succeeded: "success", failed: "danger", cancelled: "warning" };
  const ACTIVE = ["queued", "running"];
  const COLORS = [["#0d6efd", "#fd7e14"], ["#6f42c1", "#198754"]];

  function fmtSeconds(s) {
    if (s == null || !isFinite(s)) return "";
    s = Math.round(s);
    const m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }

  function readJSON(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  // --- Run state (status badge, progress bar, texts) ----------------------------------------
  function renderState(root, run) {
    if (!root || !run) return;
    root.dataset.runId = run.id;
    const q = function (sel) { return root.querySelector(sel); };
    const link = q(".tr-link");
    if (link) { link.textContent = "Run #" + run.number; link.href = run.url; }
    const badge = q(".tr-status");
    if (badge) { badge.textContent = run.status; badge.className = "tr-status badge text-bg-" + (BADGE[run.status] || "secondary"); }
    const bar = q(".progress-bar");
    if (bar) {
      const pct = run.percent == null ? (run.status === "succeeded" ? 100 : 0) : run.percent;
      bar.style.width = pct + "%";
      bar.parentElement.setAttribute("aria-valuenow", pct);
      bar.classList.toggle("progress-bar-striped", run.status === "running");
      bar.classList.toggle("progress-bar-animated", run.status === "running");
      bar.classList.toggle("bg-success", run.status === "succeeded");
      bar.classList.toggle("bg-danger", run.status === "failed");
    }
    const text = q(".tr-text");
    if (text) text.textContent = run.text || "";
    const running = run.status === "running";
    const el = q(".tr-elapsed");
    if (el) el.textContent = running && run.elapsed != null ? fmtSeconds(run.elapsed) : "";
    const eta = q(".tr-eta");
    if (eta) eta.textContent = running && run.eta != null ? "· ETA " + fmtSeconds(run.eta) : "";
  }

  // --- Charts -------------------------------------------------------------------------------
  function makeCharts(box) {
    if (!box || !window.Chart) return null;
    function chart(canvas, percent) {
      return new window.Chart(canvas, {
        type: "line",
        data: { labels: [], datasets: [] },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, spanGaps: true,
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { title: { display: true, text: "epoch" } },
            y: percent ? { min: 0, max: 1 } : { beginAtZero: true },
          },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        },
      });
    }
    return {
      box: box,
      loss: chart(box.querySelector(".tr-chart-loss"), false),
      acc: chart(box.querySelector(".tr-chart-acc"), true),
    };
  }

  function epochLabel(e) { return e.stage === "finetune" ? "ft " + e.epoch : String(e.epoch); }

  function sortEpochs(epochs) {
    return epochs.slice().sort(function (a, b) {
      return (a.stage === "head" ? 0 : 1) - (b.stage === "head" ? 0 : 1) || a.epoch - b.epoch;
    });
  }

  // series: [{name: "#3", epochs: [...]}, ...] (at most two)
  function drawSeries(charts, series) {
    if (!charts) return;
    let longest = [];
    series.forEach(function (s) { if (s.epochs.length > longest.length) longest = s.epochs; });
    const labels = longest.map(epochLabel);
    [["loss", "loss", "val_loss"], ["acc", "accuracy", "val_accuracy"]].forEach(function (spec) {
      const chart = charts[spec[0]];
      chart.data.labels = labels;
      chart.data.datasets = [];
      series.forEach(function (s, i) {
        const colors = COLORS[i % COLORS.length];
        const prefix = series.length > 1 ? s.name + " " : "";
        [[spec[1], "train", colors[0]], [spec[2], "validation", colors[1]]].forEach(function (d) {
          chart.data.datasets.push({
            label: prefix + d[1], data: s.epochs.map(function (e) { return e[d[0]]; }),
            borderColor: d[2], backgroundColor: d[2], pointRadius: 2, borderWidth: 2,
            borderDash: i === 1 ? [6, 3] : [],
          });
        });
      });
      chart.update();
    });
    const points = series.reduce(function (n, s) { return n + s.epochs.length; }, 0);
    charts.box.dataset.points = points;
  }

  function mergeEpochs(list, rows) {
    const key = function (e) { return e.stage + ":" + e.epoch; };
    const byKey = {};
    list.forEach(function (e) { byKey[key(e)] = e; });
    rows.forEach(function (e) { byKey[key(e)] = e; });
    return sortEpochs(Object.values(byKey));
  }

  // --- Project page card --------------------------------------------------------------------
  function initPanel(panel) {
    const latest = panel.querySelector(".tr-latest");
    function show(run) {
      const current = latest.querySelector(".tr-state");
      const currentNumber = current ? Number(current.dataset.number || 0) : 0;
      if (!current) {
        latest.innerHTML = '<div class="tr-state"><div class="d-flex justify-content-between small"><span>' +
          '<a class="fw-semibold tr-link"></a> <span class="tr-status badge"></span></span>' +
          '<span class="text-muted"><span class="tr-elapsed"></span> <span class="tr-eta"></span></span></div>' +
          '<div class="progress mt-1" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div class="progress-bar"></div></div>' +
          '<div class="small text-muted tr-text"></div></div>';
        latest.classList.remove("d-none");
        const empty = panel.querySelector(".tr-empty");
        if (empty) empty.remove();
      } else if (run.number < currentNumber) {
        return; // an older run: the card shows the latest one
      }
      const el = latest.querySelector(".tr-state");
      el.dataset.number = run.number;
      renderState(el, run);
    }
    const first = latest.querySelector(".tr-state");
    if (first) {
      const m = /#(\d+)/.exec(first.querySelector(".tr-link").textContent);
      first.dataset.number = m ? m[1] : 0;
    }
    AIMaker.on("snapshot", function (ev) {
      const runs = (ev.training && ev.training.runs) || [];
      if (runs.length) show(runs[0]);
    });
    AIMaker.on("training", function (ev) { show(ev.run); });
  }

  // --- Run page -----------------------------------------------------------------------------
  function initRunPage(root) {
    const runId = Number(root.dataset.runId);
    let epochs = sortEpochs(readJSON("run-epochs") || []);
    let status = root.dataset.status;
    const charts = makeCharts(root.querySelector(".tr-charts"));
    drawSeries(charts, [{ name: "", epochs: epochs }]);
    const stateEl = root.querySelector(".tr-state");

    function update(run) {
      renderState(stateEl, run);
      const set = function (sel, text) { const el = root.querySelector(sel); if (el) el.textContent = text; };
      set(".tr-phase", run.phase || "—");
      set(".tr-epoch", run.epoch ? run.epoch + "/" + (run.epochs || "?") : (epochs.length ? String(epochs.length) : "—"));
      set(".tr-batch", run.batch ? run.batch + "/" + (run.batches || "?") : "—");
      set(".tr-elapsed-full", run.elapsed != null && run.status === "running" ? fmtSeconds(run.elapsed) : "—");
      set(".tr-eta-full", run.eta != null && run.status === "running" ? fmtSeconds(run.eta) : "—");
      const err = root.querySelector(".tr-error");
      if (err && run.error) { err.textContent = run.error; err.classList.remove("d-none"); }
      const cancel = document.querySelector(".tr-cancel");
      if (cancel) cancel.classList.toggle("d-none", !ACTIVE.includes(run.status));
      const wasActive = ACTIVE.includes(status);
      status = run.status;
      root.dataset.status = status;
      // Finished while open: reload once to show the evaluation / retry button.
      if (wasActive && !ACTIVE.includes(status)) setTimeout(function () { location.reload(); }, 300);
    }

    AIMaker.on("snapshot", function (ev) {
      const t = ev.training || {};
      (t.runs || []).forEach(function (run) { if (run.id === runId) update(run); });
      if (t.epochs && t.epochs[runId]) {
        epochs = mergeEpochs(epochs, t.epochs[runId]);
        drawSeries(charts, [{ name: "", epochs: epochs }]);
      }
    });
    AIMaker.on("training", function (ev) { if (ev.run.id === runId) update(ev.run); });
    AIMaker.on("training.epoch", function (ev) {
      if (ev.run_id !== runId) return;
      epochs = mergeEpochs(epochs, ev.epochs || []);
      drawSeries(charts, [{ name: "", epochs: epochs }]);
    });
  }

  // --- History page -------------------------------------------------------------------------
  function initHistory(box) {
    const curves = readJSON("history-curves") || {};
    const charts = makeCharts(box.querySelector(".tr-charts"));
    const boxes = Array.from(document.querySelectorAll(".tr-compare"));
    let order = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });

    function redraw() {
      drawSeries(charts, order.filter(function (id) { return curves[id]; }).map(function (id) {
        return { name: "#" + curves[id].number, epochs: sortEpochs(curves[id].epochs) };
      }));
    }
    boxes.forEach(function (b) {
      b.addEventListener("change", function () {
        order = order.filter(function (id) { return id !== b.value; });
        if (b.checked) order.push(b.value);
        while (order.length > 2) {  // two runs at most: drop the oldest pick
          const drop = order.shift();
          boxes.forEach(function (o) { if (o.value === drop) o.checked = false; });
        }
        redraw();
      });
    });
    AIMaker.on("training.epoch", function (ev) {
      const c = curves[ev.run_id];
      if (!c) return;
      c.epochs = mergeEpochs(c.epochs, ev.epochs || []);
      if (order.includes(String(ev.run_id))) redraw();
    });
    AIMaker.on("training", function (ev) {
      const row = document.querySelector('#runs-table tr[data-run-id="' + ev.run.id + '"]');
      if (!row) return;
      const badge = row.querySelector(".tr-row-status");
      badge.textContent = ev.run.status;
      badge.className = "badge tr-row-status text-bg-" + (BADGE[ev.run.status] || "secondary");
      if (ev.run.best_val_accuracy != null) row.querySelector(".tr-row-acc").textContent = (100 * ev.run.best_val_accuracy).toFixed(1) + "%";  // as the page: "94.2%"
    });
    redraw();
  }

  function init() {
    const panel = document.querySelector("[data-training-panel]");
    if (panel) initPanel(panel);
    const run = document.getElementById("run-live");
    if (run) initRunPage(run);
    const hist = document.getElementById("history-charts");
    if (hist) initHistory(hist);
  }
  // Runs after the page's elements exist (end of body, or deferred) and before live.js
  // connects on DOMContentLoaded, so no snapshot is missed.
  init();
  AIMaker.training = { drawSeries: drawSeries, renderState: renderState };
})();

/* The staff operations page: renders the snapshot embedded in the page at once, then every
 * "snapshot"/"update" from /ws/ops/ (whole state, throttled by the server). Text only through
 * textContent: project names and errors are users' text. */
(function () {
  "use strict";
  const AIMaker = window.AIMaker;
  const BADGE = { queued: "secondary", running: "primary", succeeded: "success", failed: "danger", cancelled: "warning" };
  let charts = null;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function ([k, v]) {
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v);
    });
    (children || []).forEach(function (c) { if (c) node.append(c); });
    return node;
  }

  function duration(seconds) {
    if (seconds == null) return "–";
    if (seconds < 60) return Math.round(seconds) + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min " + Math.round(seconds % 60) + " s";
    return Math.floor(seconds / 3600) + " h " + Math.round((seconds % 3600) / 60) + " min";
  }

  function ago(iso) {
    if (!iso) return "–";
    return duration(Math.max(0, (Date.now() - Date.parse(iso)) / 1000)) + " ago";
  }

  function badge(status) { return el("span", { className: "badge text-bg-" + (BADGE[status] || "secondary"), text: status }); }

  function empty(cols, text) { return el("tr", {}, [el("td", { colspan: cols, className: "text-muted", text: text })]); }

  function fill(id, rows, cols, none) {
    const body = document.getElementById(id);
    body.replaceChildren.apply(body, rows.length ? rows : [empty(cols, none)]);
  }

  function cancelForm(item) {
    if (!item.cancel_url || item.cancel_requested) return item.cancel_requested ? el("span", { className: "small text-muted", text: "cancelling…" }) : null;
    const form = el("form", { method: "post", action: item.cancel_url, className: "d-inline" });
    form.append(el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: document.getElementById("ops").dataset.csrf }));
    form.append(el("button", { className: "btn btn-outline-danger btn-sm", "data-confirm": "Cancel " + item.title + " of " + item.owner + "?", text: "Cancel" }));
    return form;
  }

  function progress(item) {
    const pct = item.percent == null ? 0 : item.percent;
    const bar = el("div", { className: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct), style: "height: .75rem" },
      [el("div", { className: "progress-bar" + (item.status === "running" ? " progress-bar-striped progress-bar-animated" : ""), style: "width: " + pct + "%" })]);
    let text = item.text || item.message || "";
    const acc = item.val_accuracy != null ? item.val_accuracy : item.accuracy;
    if (item.status === "running" && acc != null) text += " · accuracy " + Math.round(acc * 100) + "%";
    return el("div", {}, [bar, el("div", { className: "small text-muted text-truncate", text: text, title: text })]);
  }

  function render(data) {
    document.getElementById("ops-at").textContent = new Date(data.at).toLocaleTimeString();
    const redis = document.getElementById("ops-redis");
    redis.classList.toggle("d-none", !data.redis_error);
    redis.textContent = data.redis_error ? "Redis does not answer (" + data.redis_error + "): queues and workers are unknown." : "";

    fill("ops-queues", data.queues.map(function (q) {
      const waiting = el("td", { className: "text-end", text: String(q.length) });
      if (q.held_back) waiting.append(el("div", { className: "small text-muted", text: "+ " + q.held_back + " held back (fair share)" }));
      return el("tr", { "data-queue": q.name }, [el("td", { text: q.name }), waiting,
        el("td", { className: "text-end", text: String(q.running) }), el("td", { className: "text-end", text: q.oldest_age_s == null ? "–" : duration(q.oldest_age_s) })]);
    }), 4, "No queue answers.");

    fill("ops-workers", data.workers.map(function (w) {
      const who = el("td", {}, [el("div", { className: "fw-semibold", text: w.host + " · pid " + w.pid }), el("div", { className: "small text-muted", text: w.device ? "trains on " + w.device : "device not known yet" })]);
      const now = el("td", {}, [badge(w.state === "busy" ? "running" : "queued")]);
      now.firstChild.textContent = w.state;
      if (w.working_on || w.current_job) now.append(el("div", { className: "small", text: w.working_on || w.current_job }));
      return el("tr", { "data-worker": w.name }, [who, el("td", { text: w.queues.join(", ") }), now, el("td", { className: "small", text: ago(w.last_heartbeat) })]);
    }), 4, "No worker is alive: nothing will run. Start one with `manage.py rqworker` or `make run`.");

    const workerLabel = Object.fromEntries(data.workers.map(function (w) { return [w.name, w.host + " · pid " + w.pid]; }));
    const active = data.runs.map(function (r) {
      return el("tr", { "data-run": String(r.id) }, [
        el("td", {}, [el("a", { href: r.url, text: r.title }), el("div", { className: "small" }, [badge(r.status), document.createTextNode(" training" + (r.worker ? " on " + (workerLabel[r.worker] || r.worker) : ""))])]),
        el("td", { text: r.owner }), el("td", {}, [progress(r)]), el("td", { className: "text-end" }, [cancelForm(r)])]);
    }).concat(data.jobs.map(function (j) {
      return el("tr", { "data-job": String(j.id) }, [
        el("td", {}, [el("a", { href: j.project.url, text: j.project.name + " · " + j.title }), el("div", { className: "small" }, [badge(j.status), document.createTextNode(" " + j.kind)])]),
        el("td", { text: j.owner }), el("td", {}, [progress(j)]), el("td", { className: "text-end" }, [cancelForm(j)])]);
    }));
    fill("ops-active", active, 4, "Nothing is running or waiting.");

    fill("ops-finished", data.finished.map(function (f) {
      const outcome = el("td", {}, [badge(f.status)]);
      if (f.cancelled_by) outcome.append(el("span", { className: "small ms-1", text: "by " + f.cancelled_by }));
      if (f.error) outcome.append(el("div", { className: "small text-danger text-break", text: f.error }));
      const title = f.url ? el("a", { href: f.url, text: f.project.name + " · " + f.title }) : el("span", { text: f.project.name + " · " + f.title });
      return el("tr", {}, [el("td", { className: "small text-nowrap", text: new Date(f.finished_at).toLocaleTimeString() }),
        el("td", {}, [title, el("div", { className: "small text-muted", text: f.kind })]), el("td", { text: f.owner }), outcome,
        el("td", { className: "text-end small", text: duration(f.wait_s) }), el("td", { className: "text-end small", text: duration(f.duration_s) })]);
    }), 6, "Nothing finished in the last 24 hours.");

    renderCharts(data.charts);
  }

  function renderCharts(c) {
    if (!window.Chart || !c) return;
    if (!charts) {
      const common = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } };
      charts = {
        queue: new window.Chart(document.getElementById("ops-chart-queue"), { type: "line", data: { labels: [], datasets: [
          { label: "Training runs", data: [], borderColor: "#0d6efd", backgroundColor: "rgba(13,110,253,.15)", fill: true, stepped: true, pointRadius: 0 },
          { label: "Other jobs", data: [], borderColor: "#6c757d", stepped: true, pointRadius: 0 }] },
          options: Object.assign({}, common, { scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxTicksLimit: 12 } } } }) }),
        runs: new window.Chart(document.getElementById("ops-chart-runs"), { type: "bar", data: { labels: [], datasets: [
          { label: "Succeeded", data: [], backgroundColor: "#198754" }, { label: "Failed", data: [], backgroundColor: "#dc3545" },
          { label: "Cancelled", data: [], backgroundColor: "#ffc107" }] },
          options: Object.assign({}, common, { scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }) }),
      };
    }
    charts.queue.data.labels = c.queue.times;
    charts.queue.data.datasets[0].data = c.queue.series.training;
    charts.queue.data.datasets[1].data = c.queue.series.jobs;
    charts.runs.data.labels = c.runs_per_hour.hours;
    ["succeeded", "failed", "cancelled"].forEach(function (s, i) { charts.runs.data.datasets[i].data = c.runs_per_hour.series[s]; });
    charts.queue.update("none");
    charts.runs.update("none");
  }

  AIMaker.on("snapshot", render);
  AIMaker.on("update", render);
  document.addEventListener("DOMContentLoaded", function () {
    const initial = document.getElementById("ops-snapshot");
    if (initial) render(JSON.parse(initial.textContent));
  });
})();

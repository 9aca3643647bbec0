/* "My AIs", live: one socket (/ws/me/) for all the user's projects. The snapshot and the
 * "card" events carry whole cards; "training" and "data" events update a card in place.
 * The search box filters the cards as you type (the form still works without script). */
(function () {
  "use strict";
  const AIMaker = window.AIMaker;
  const BADGE = { queued: "secondary", running: "primary", succeeded: "success", failed: "danger", cancelled: "warning" };

  function card(projectId) {
    return document.querySelector('.ai-card[data-project-id="' + projectId + '"]');
  }

  function pct(value) { return Math.round(value * 100) + "%"; }

  function renderRun(el, run) {
    const box = el.querySelector(".ai-run");
    const badge = box.querySelector(".ai-run-badge");
    const text = box.querySelector(".ai-run-text");
    box.dataset.status = run.status;
    badge.textContent = "run #" + run.number + " " + run.status;
    badge.className = "badge ai-run-badge text-decoration-none text-bg-" + (BADGE[run.status] || "secondary");
    if (run.url && badge.tagName === "A") badge.href = run.url;
    let line = run.text || "";
    const acc = run.val_accuracy != null ? run.val_accuracy : run.accuracy;
    if (run.status === "running" && acc != null) line += " · accuracy " + pct(acc);
    text.textContent = line;
    text.title = line;
    let bar = box.querySelector(".ai-run-progress");
    if (!bar) {
      bar = document.createElement("div");
      bar.className = "progress mt-1 ai-run-progress";
      bar.setAttribute("role", "progressbar");
      bar.setAttribute("aria-label", "Training progress");
      bar.style.height = ".5rem";
      bar.innerHTML = '<div class="progress-bar progress-bar-striped progress-bar-animated"></div>';
      badge.after(bar);
    }
    const value = run.percent == null ? 0 : run.percent;
    bar.classList.toggle("d-none", run.status !== "running");
    bar.setAttribute("aria-valuenow", value);
    bar.firstChild.style.width = value + "%";
  }

  function showRun(el, run) {
    // A card first rendered as "not trained yet" has a plain badge: make it a link.
    const badge = el.querySelector(".ai-run-badge");
    if (badge.tagName !== "A") {
      const link = document.createElement("a");
      link.className = badge.className;
      badge.replaceWith(link);
    }
    renderRun(el, run);
  }

  function renderCard(data) {
    const el = card(data.id);
    if (!el) return;  // made in another tab: it shows on the next visit
    el.querySelector(".ai-labels").textContent = data.labels;
    el.querySelector(".ai-images").textContent = (data.images || 0).toLocaleString("en");
    if (data.run) showRun(el, data.run);
    const version = el.querySelector(".ai-version");
    const v = data.version;
    if (v) {
      const link = document.createElement("a");
      link.href = v.url;
      link.className = "fw-semibold";
      link.textContent = v.name;
      version.replaceChildren(v.published ? "Default " : "", link, v.published ? "" : " ready to publish");
      if (v.accuracy != null) version.append(" · " + pct(v.accuracy) + " accurate");
    }
    const spark = el.querySelector(".ai-spark polyline");
    if (spark && data.sparkline != null) spark.setAttribute("points", data.sparkline);
    const total = el.querySelector(".ai-predictions");
    if (total && data.predictions_total_7d != null) total.textContent = data.predictions_total_7d;
  }

  AIMaker.on("snapshot", function (ev) { (ev.projects || []).forEach(renderCard); });
  AIMaker.on("card", function (ev) { renderCard(ev.card); });
  AIMaker.on("training", function (ev) {
    const el = card(ev.project_id);
    if (el && ev.run) showRun(el, ev.run);
  });
  AIMaker.on("data", function (ev) {
    const el = card(ev.project_id);
    if (!el || !ev.data) return;
    el.querySelector(".ai-images").textContent = (ev.data.total || 0).toLocaleString("en");
    if (ev.data.labels) el.querySelector(".ai-labels").textContent = ev.data.labels.length;
  });

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("ai-search");
    if (!form) return;
    const input = form.querySelector("input");
    const none = document.getElementById("ai-no-match");
    input.addEventListener("input", function () {
      const q = input.value.trim().toLowerCase();
      let shown = 0;
      document.querySelectorAll(".ai-col").forEach(function (col) {
        const match = !q || col.dataset.name.includes(q);
        col.classList.toggle("d-none", !match);
        if (match) shown += 1;
      });
      if (none) none.classList.toggle("d-none", shown > 0);
    });
  });
})();

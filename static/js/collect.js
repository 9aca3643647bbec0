/* Live per-label progress of web collections (datasets/collect.py).
 * Fills every [data-collect-progress] box from "collect" events, collection jobs' "job" events
 * and the snapshot's "collections", so bars move live and survive reconnects.
 * data-active-only: only show a collection while it runs (or once it was seen running). */
(function () {
  "use strict";
  const AIMaker = (window.AIMaker = window.AIMaker || {});
  const ACTIVE = ["queued", "running"];
  const BADGE = { queued: "secondary", running: "primary", succeeded: "success", failed: "danger", cancelled: "warning" };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function jobBox(container, ev) {
    let box = container.querySelector(".collect-job");
    if (box && Number(box.dataset.jobId) === ev.job_id) return box;
    if (box) box.remove();
    const empty = container.querySelector(".collect-empty");
    if (empty) empty.remove();
    box = el("div", "collect-job");
    box.dataset.jobId = ev.job_id;
    const head = el("div", "d-flex justify-content-between small mb-1");
    head.append(el("strong", "collect-title"));
    const right = el("span");
    right.append(el("span", "collect-status badge"), " ", el("span", "collect-cancel"));
    head.append(right);
    box.append(head, el("div", "collect-message small text-muted mb-2"), el("div", "collect-labels"));
    container.append(box);
    return box;
  }

  function labelRow(list, id, row) {
    let item = list.querySelector('[data-label-id="' + id + '"]');
    if (item) return item;
    item = el("div", "collect-label mb-2");
    item.dataset.labelId = id;
    const head = el("div", "d-flex justify-content-between small");
    head.append(el("span", "collect-name fw-semibold"), el("span", "collect-counts text-muted"));
    const bar = el("div", "progress");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-label", row.name);
    bar.append(el("div", "progress-bar"));
    item.append(head, bar);
    list.append(item);
    return item;
  }

  function counts(row) {
    const parts = ["found " + row.found, "downloaded " + row.downloaded, "rejected " + row.rejected,
      "duplicates " + row.duplicates];
    if (row.skipped_license) parts.push("skipped (license) " + row.skipped_license);
    if (row.existing) parts.push("had " + row.existing);
    return parts.join(" · ");
  }

  function cancelButton(container, box, ev) {
    const slot = box.querySelector(".collect-cancel");
    const url = container.dataset.cancelUrl;
    if (!url || !ACTIVE.includes(ev.status)) { slot.replaceChildren(); return; }
    if (slot.firstChild) return;
    const form = el("form", "d-inline");
    form.method = "post";
    form.action = url.replace("/jobs/0/", "/jobs/" + ev.job_id + "/");
    for (const [name, value] of [["csrfmiddlewaretoken", container.dataset.csrf], ["next", container.dataset.next || ""]]) {
      const input = el("input");
      input.type = "hidden"; input.name = name; input.value = value;
      form.append(input);
    }
    form.append(el("button", "btn btn-link btn-sm p-0 collect-cancel-btn", "cancel"));
    slot.append(form);
  }

  function render(container, ev) {
    const shown = Number(container.dataset.jobId || 0);
    if (ev.job_id < shown) return; // an older collection: the newest one wins the box
    if (container.dataset.activeOnly && ev.job_id !== shown && !ACTIVE.includes(ev.status)) return;
    container.dataset.jobId = ev.job_id;
    const box = jobBox(container, ev);
    box.dataset.status = ev.status;
    if (ev.title) box.querySelector(".collect-title").textContent = ev.title;
    const badge = box.querySelector(".collect-status");
    badge.textContent = ev.status;
    badge.className = "collect-status badge text-bg-" + (BADGE[ev.status] || "secondary");
    box.querySelector(".collect-message").textContent = ev.message || "";
    cancelButton(container, box, ev);
    const list = box.querySelector(".collect-labels");
    const running = ev.status === "running";
    Object.keys(ev.labels || {}).forEach(function (id) {
      const row = ev.labels[id];
      const item = labelRow(list, id, row);
      const have = row.have != null ? row.have : Math.min(row.target, row.existing + row.downloaded);
      const pct = row.target ? Math.round((100 * have) / row.target) : 0;
      item.querySelector(".collect-name").textContent = row.name + (row.query && row.query !== row.name ? " (“" + row.query + "”)" : "");
      item.querySelector(".collect-counts").textContent = counts(row);
      const bar = item.querySelector(".progress");
      bar.setAttribute("aria-valuemax", row.target);
      bar.setAttribute("aria-valuenow", have);
      const inner = bar.querySelector(".progress-bar");
      inner.style.width = pct + "%";
      inner.textContent = have + " / " + row.target;
      const labelDone = have >= row.target;
      inner.classList.toggle("progress-bar-striped", running && !labelDone);
      inner.classList.toggle("progress-bar-animated", running && !labelDone);
      inner.classList.toggle("bg-success", labelDone);
      inner.classList.toggle("bg-warning", !labelDone && (row.exhausted || ev.status === "cancelled"));
      inner.classList.toggle("bg-danger", !labelDone && ev.status === "failed");
    });
  }

  function renderAll(ev) {
    if (!ev || !ev.job_id) return;
    document.querySelectorAll("[data-collect-progress]").forEach(function (c) { render(c, ev); });
  }
  AIMaker.renderCollection = renderAll;

  if (AIMaker.on) {
    AIMaker.on("collect", renderAll);
    AIMaker.on("snapshot", function (ev) { (ev.collections || []).forEach(renderAll); });
    AIMaker.on("job", function (ev) {
      const job = ev.job;
      if (!job || job.kind !== "collect" || !job.result || !job.result.labels) return;
      renderAll({ job_id: job.id, title: job.title, status: job.status, message: job.error || job.message,
        labels: job.result.labels, totals: job.result.totals });
    });
  }

  function init() {
    const initial = document.getElementById("collect-initial");
    if (initial) renderAll(JSON.parse(initial.textContent));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

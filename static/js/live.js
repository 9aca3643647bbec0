/* Live project updates over the project websocket.
 * Pages register handlers with AIMaker.on(type, fn); the first message after each (re)connect
 * is a "snapshot" of current state, so a reconnecting page misses nothing. */
(function () {
  "use strict";
  const handlers = {};
  const AIMaker = (window.AIMaker = window.AIMaker || {});

  AIMaker.on = function (type, fn) { (handlers[type] = handlers[type] || []).push(fn); };
  AIMaker.emit = function (event) {
    (handlers[event.type] || []).concat(handlers["*"] || []).forEach(function (fn) {
      try { fn(event); } catch (err) { console.error(err); }
    });
  };

  function setStatus(text, cls) {
    const el = document.getElementById("live-status");
    if (el) { el.textContent = text; el.className = "badge " + cls; }
  }

  const FINAL = { 4403: "○ no longer available", 1009: "○ disconnected" };

  AIMaker.connect = function (projectId) { AIMaker.connectTo("/ws/projects/" + projectId + "/"); };

  // Any live page: the socket at `path` (e.g. "/ws/me/"), reconnecting with back-off.
  AIMaker.connectTo = function (path) {
    let delay = 1000;
    function open() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const ws = new WebSocket(scheme + location.host + path);
      AIMaker.socket = ws;
      ws.onopen = function () { delay = 1000; setStatus("● live", "text-bg-success"); };
      ws.onmessage = function (msg) { AIMaker.emit(JSON.parse(msg.data)); };
      ws.onclose = function (ev) {
        // The server said stop: the page is no longer ours to watch (4403), or we sent too
        // much (1009). Reconnecting would only be refused again.
        if (FINAL[ev.code]) { setStatus(FINAL[ev.code], "text-bg-secondary"); return; }
        setStatus("○ reconnecting", "text-bg-warning");
        // Jitter spreads the reconnects of many pages after a server restart.
        setTimeout(open, delay * (0.5 + Math.random()));
        delay = Math.min(delay * 2, 30000);
      };
    }
    open();
  };

  // Generic progress bars for background jobs (imports, collections, demo...).
  const ACTIVE = ["queued", "running"];
  const BADGE = { queued: "secondary", running: "primary", succeeded: "success", failed: "danger", cancelled: "warning" };

  AIMaker.renderJob = function (job) {
    const box = document.getElementById("jobs");
    if (!box) return;
    const empty = box.querySelector(".jobs-empty");
    if (empty) empty.remove();
    let el = box.querySelector('[data-job-id="' + job.id + '"]');
    if (!el) {
      el = document.createElement("div");
      el.className = "job mb-3";
      el.dataset.jobId = job.id;
      el.innerHTML = '<div class="d-flex justify-content-between small"><strong class="job-title"></strong>' +
        '<span><span class="job-status badge"></span> <span class="job-cancel"></span></span></div>' +
        '<div class="progress mt-1" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div class="progress-bar"></div></div>' +
        '<div class="small text-muted job-message"></div>';
      box.prepend(el);
    }
    el.querySelector(".job-title").textContent = job.title;
    const status = el.querySelector(".job-status");
    status.textContent = job.status;
    status.className = "job-status badge text-bg-" + (BADGE[job.status] || "secondary");
    const pct = job.percent == null ? (job.status === "succeeded" ? 100 : 0) : job.percent;
    const bar = el.querySelector(".progress");
    bar.setAttribute("aria-valuenow", pct);
    const inner = el.querySelector(".progress-bar");
    inner.style.width = pct + "%";
    inner.textContent = job.total ? job.done + " / " + job.total : "";
    inner.classList.toggle("progress-bar-striped", job.status === "running");
    inner.classList.toggle("progress-bar-animated", job.status === "running");
    inner.classList.toggle("bg-danger", job.status === "failed");
    inner.classList.toggle("bg-success", job.status === "succeeded");
    el.querySelector(".job-message").textContent = job.error || job.message || "";
    const cancel = el.querySelector(".job-cancel");
    if (cancel) {
      const url = box.dataset.cancelUrl;
      if (url && ACTIVE.includes(job.status)) {
        if (!cancel.firstChild) {
          const form = document.createElement("form");
          form.method = "post";
          form.className = "d-inline";
          form.action = url.replace("/jobs/0/", "/jobs/" + job.id + "/");
          form.innerHTML = '<input type="hidden" name="csrfmiddlewaretoken"><button class="btn btn-link btn-sm p-0">cancel</button>';
          form.firstChild.value = box.dataset.csrf;
          cancel.appendChild(form);
        }
      } else {
        cancel.innerHTML = "";
      }
    }
  };

  AIMaker.on("snapshot", function (ev) { (ev.jobs || []).slice().reverse().forEach(AIMaker.renderJob); });
  AIMaker.on("job", function (ev) { AIMaker.renderJob(ev.job); });

  // Buttons that ask first: <button data-confirm="Sure?"> (no inline handlers: see the CSP).
  document.addEventListener("click", function (ev) {
    const button = ev.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) ev.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    const el = document.querySelector("[data-live-project]");
    const other = document.querySelector("[data-live-url]");
    if (el && el.dataset.liveProject) AIMaker.connect(el.dataset.liveProject);
    else if (other) AIMaker.connectTo(other.dataset.liveUrl);
    else setStatus("", "d-none");
  });
})();

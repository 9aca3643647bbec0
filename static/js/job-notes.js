/* A note like "watch each label fill up below" is about one background job (data-note="job:<id>",
 * see base.html): it goes away once that job ends, instead of staying on the page. */
(function () {
  "use strict";
  const AIMaker = window.AIMaker;
  if (!AIMaker || !AIMaker.on) return;
  const ACTIVE = ["queued", "running"];

  function ended(id, status) {
    if (!id || !status || ACTIVE.includes(status)) return;
    document.querySelectorAll('[data-note="job:' + id + '"]').forEach(function (note) { note.remove(); });
  }
  AIMaker.on("job", function (ev) { if (ev.job) ended(ev.job.id, ev.job.status); });
  AIMaker.on("collect", function (ev) { ended(ev.job_id, ev.status); });
  AIMaker.on("snapshot", function (ev) {
    (ev.jobs || []).forEach(function (job) { ended(job.id, job.status); });
  });
})();

/* The export page: once the background export ends, reload to show its download link. */
(function () {
  "use strict";
  const AIMaker = window.AIMaker;
  if (!AIMaker || !AIMaker.on) return;
  const ACTIVE = ["queued", "running"];
  const box = document.getElementById("dataset-export");
  function check(job) {
    if (box && box.dataset.state === "building" && job && job.kind === "export" && !ACTIVE.includes(job.status)) {
      box.dataset.state = "done";
      window.location.reload();
    }
  }
  AIMaker.on("job", function (ev) { check(ev.job); });
  AIMaker.on("snapshot", function (ev) { (ev.jobs || []).forEach(check); });
})();

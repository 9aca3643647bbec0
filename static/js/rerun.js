/* The re-run page reloads once its job ends, to show the re-run's results. */
window.addEventListener("DOMContentLoaded", function () {
  const watch = document.getElementById("rerun-watch");
  if (!watch) return;
  const id = Number(watch.dataset.jobId);
  AIMaker.on("job", function (ev) {
    if (ev.job.id === id && ["succeeded", "failed", "cancelled"].includes(ev.job.status)) location.reload();
  });
});

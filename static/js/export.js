/* The export page: wait for the build, start the download, then say it is done. */
(function () {
  const box = document.getElementById("export");
  const url = box.dataset.downloadUrl;
  function show(state, message) {
    box.dataset.state = state;
    ["building", "ready", "failed"].forEach(function (s) {
      document.getElementById("export-" + s).hidden = s !== state;
    });
    if (message) document.getElementById("export-error").textContent = message;
  }
  function poll() {
    fetch(url + "?state=1", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { state: "building" }; })
      .then(function (data) {
        if (data.state === "ready") {
          window.location.assign(url);  // an attachment: the browser saves it, this page stays
          show("ready");
        } else if (data.state === "failed") {
          show("failed", data.message);
        } else {
          setTimeout(poll, 2000);
        }
      })
      .catch(function () { setTimeout(poll, 4000); });
  }
  setTimeout(poll, 1000);
})();

/* Upload page: drop or pick many files; images go in batches (Django refuses more than 100
 * files per request) with a running list of what was added, skipped or refused; ZIPs are
 * uploaded on their own (with upload progress) and lead to their import plan. */
(function () {
  "use strict";
  const app = document.getElementById("upload-app");
  if (!app) return;
  const BATCH = parseInt(app.dataset.batchSize || "20", 10);
  const csrf = app.dataset.csrf;
  const $ = function (id) { return document.getElementById(id); };
  const totals = { accepted: 0, duplicates: 0, rejected: 0 };

  function isZip(file) {
    // A CSV of (image URL, label) goes the same way: the server reads it as a one-table ZIP.
    return /\.(zip|csv)$/i.test(file.name) || file.type === "application/zip" || file.type === "application/x-zip-compressed";
  }

  function setProgress(done, total, text) {
    $("upload-progress").classList.remove("d-none");
    const pct = total ? Math.round((100 * done) / total) : 0;
    const bar = $("upload-bar");
    bar.parentElement.classList.toggle("d-none", !total); // no total: nothing is on its way
    bar.style.width = pct + "%";
    bar.parentElement.setAttribute("aria-valuenow", pct);
    $("upload-counter").textContent = total ? done + " / " + total : "";
    if (text) $("upload-status").textContent = text;
  }

  function li(text, cls) {
    const el = document.createElement("li");
    el.textContent = text;
    if (cls) el.className = cls;
    return el;
  }

  function showResults(data) {
    $("upload-results").classList.remove("d-none");
    (data.accepted || []).forEach(function (a) {
      const link = document.createElement("a");
      link.href = a.url;
      link.title = a.name + " → " + a.label + (a.quarantined ? " (quarantined: possible adult content)" : "");
      if (a.quarantined) link.className = "thumb quarantined";
      const img = document.createElement("img");
      img.src = a.thumbnail; img.alt = a.name; img.loading = "lazy";
      link.appendChild(img);
      $("accepted-thumbs").appendChild(link);
    });
    (data.rejected || []).forEach(function (r) { $("rejected-list").appendChild(li("✗ " + r.name + ": " + r.reason, "text-danger rejected")); });
    (data.duplicates || []).forEach(function (d) { $("duplicate-list").appendChild(li("= " + d.name + ": " + d.reason, "duplicate")); });
    totals.accepted += (data.accepted || []).length;
    totals.duplicates += (data.duplicates || []).length;
    totals.rejected += (data.rejected || []).length;
    $("accepted-count").textContent = totals.accepted + " added";
    $("duplicate-count").textContent = totals.duplicates + " duplicate" + (totals.duplicates === 1 ? "" : "s");
    $("rejected-count").textContent = totals.rejected + " rejected";
    if (data.counts) updateCounts(data.counts);
  }

  function updateCounts(counts) {
    Object.keys(counts).forEach(function (name) {
      document.querySelectorAll("#upload-counts tr").forEach(function (tr) {
        if (tr.dataset.label === name) tr.querySelector(".count").textContent = counts[name];
      });
    });
  }

  async function sendBatch(files, labelId, source) {
    const body = new FormData();
    body.append("label", labelId);
    if (source) body.append("source", source);
    files.forEach(function (f) { body.append("files", f, f.name); });
    try {
      const resp = await fetch(app.dataset.filesUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      });
      let data = null;
      try { data = await resp.json(); } catch (_e) { data = null; }
      if (resp.ok && data) return data;
      const reason = (data && data.error) || "the server refused the upload (" + resp.status + ")";
      return { rejected: files.map(function (f) { return { name: f.name, reason: reason }; }) };
    } catch (_err) {
      return { rejected: files.map(function (f) { return { name: f.name, reason: "network error: not uploaded" }; }) };
    }
  }

  function sendZip(file, onProgress) {
    return new Promise(function (resolve) {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", app.dataset.zipUrl);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) onProgress(ev.loaded, ev.total); };
      xhr.onload = function () {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (_e) { data = null; }
        if (xhr.status < 300 && data && data.plan_url) resolve({ ok: true, url: data.plan_url });
        else resolve({ ok: false, reason: (data && data.error) || (xhr.status === 413
          ? "“" + file.name + "” is larger than this server accepts"
          : "The server could not take “" + file.name + "” (error " + xhr.status + "): try again") });
      };
      xhr.onerror = function () { resolve({ ok: false, reason: "“" + file.name + "” could not be sent: the connection to the server was lost" }); };
      const body = new FormData();
      body.append("archive", file, file.name);
      xhr.send(body);
    });
  }

  let busy = false;
  async function handle(fileList) {
    if (busy) return;
    busy = true;
    const files = Array.from(fileList);
    const zips = files.filter(isZip);
    const images = files.filter(function (f) { return !isZip(f); });
    const select = $("upload-label");
    if (images.length) {
      if (!select) {
        showResults({ rejected: images.map(function (f) { return { name: f.name, reason: "add labels first (or upload a ZIP of label folders)" }; }) });
      } else {
        let sent = 0;
        setProgress(0, images.length, "Uploading " + images.length + " image" + (images.length === 1 ? "" : "s") + "…");
        for (let i = 0; i < images.length; i += BATCH) {
          const batch = images.slice(i, i + BATCH);
          const data = await sendBatch(batch, select.value);
          sent += batch.length;
          showResults(data);
          setProgress(sent, images.length);
        }
        setProgress(images.length, images.length, "Done: " + totals.accepted + " added.");
      }
    }
    const plans = [];
    for (const zip of zips) {
      setProgress(0, 1, "Uploading " + zip.name + "…");
      const res = await sendZip(zip, function (loaded, total) {
        setProgress(loaded, total, "Uploading " + zip.name + "…");
        $("upload-counter").textContent = Math.round(loaded / 1048576) + " / " + Math.round(total / 1048576) + " MB";
      });
      if (res.ok) plans.push({ name: zip.name, url: res.url });
      else {
        showResults({ rejected: [{ name: zip.name, reason: res.reason }] });
        // Refused: no "Uploading…" bar left half full; say plainly that nothing was added.
        setProgress(0, 0, res.reason.replace(/\.?$/, ".") + " Nothing was added.");
      }
    }
    busy = false;
    if (plans.length === 1) {
      setProgress(1, 1, "Uploaded " + plans[0].name + ": opening its import plan…");
      window.location.href = plans[0].url;
    } else if (plans.length > 1) {
      setProgress(1, 1, "Uploaded. Review each archive's import plan:");
      const list = $("rejected-list");
      plans.forEach(function (p) {
        const item = document.createElement("li");
        const a = document.createElement("a");
        a.href = p.url; a.target = "_blank"; a.textContent = "Import plan for " + p.name;
        item.appendChild(a);
        list.prepend(item);
      });
      $("upload-results").classList.remove("d-none");
    }
  }

  // The camera (camera.js) sends its frames through the same batches and result list.
  window.AIMaker = window.AIMaker || {};
  window.AIMaker.sendImages = async function (files, labelId, source) {
    if (files.length) showResults(await sendBatch(files, labelId, source));
  };

  const zone = $("drop-zone");
  ["dragenter", "dragover"].forEach(function (t) {
    zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.add("border-primary"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.remove("border-primary"); });
  });
  zone.addEventListener("drop", function (ev) { if (ev.dataTransfer) handle(ev.dataTransfer.files); });
  $("file-input").addEventListener("change", function (ev) { handle(ev.target.files); ev.target.value = ""; });

  // Background imports: the generic bars come from live.js; add the result link when done.
  function showJobResult(job) {
    if (job.kind !== "import" || job.status !== "succeeded") return;
    const box = $("job-results");
    if (!box || box.querySelector('[data-result-for="' + job.id + '"]')) return;
    const p = document.createElement("p");
    p.className = "small alert alert-success py-2 job-result";
    p.dataset.resultFor = job.id;
    p.textContent = (job.result && job.result.summary) || job.message || "Import finished.";
    const a = document.createElement("a");
    a.href = box.dataset.resultUrl.replace("/imports/0/", "/imports/" + job.id + "/");
    a.textContent = " Details";
    a.className = "ms-1";
    p.appendChild(a);
    box.prepend(p);
  }
  if (window.AIMaker) {
    window.AIMaker.on("job", function (ev) { showJobResult(ev.job); });
    window.AIMaker.on("snapshot", function (ev) { (ev.jobs || []).forEach(showJobResult); });
    window.AIMaker.on("data", function (ev) {
      const counts = {};
      ((ev.data && ev.data.labels) || []).forEach(function (r) { counts[r.name] = r.count; });
      updateCounts(counts);
    });
  }
})();

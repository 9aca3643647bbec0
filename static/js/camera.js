/* "Use camera" on the upload page: a live preview, single photos or hold-to-record bursts
 * (several a second), straight into the chosen label through the same upload endpoint (same
 * normalisation and duplicate checks). Rear camera first on phones; "Switch camera" flips. */
(function () {
  "use strict";
  const app = document.getElementById("camera-app");
  if (!app) return;
  const $ = function (id) { return document.getElementById(id); };
  const BURST_FPS = 4;
  const MAX_SIDE = 1024;  // plenty for 224 px training, small to send
  const SEND_EVERY = 4;  // frames per upload batch while recording
  let stream = null;
  let facing = "environment";
  let burst = null;
  let pending = [];
  let sending = Promise.resolve();
  let taken = 0, sent = 0;

  function status(text) { $("camera-status").textContent = text; }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status("This browser does not offer a camera here: the page needs HTTPS (or localhost).");
      return;
    }
    stop();
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: facing }, width: { ideal: 1280 }, height: { ideal: 960 } },
        audio: false,
      });
    } catch (err) {
      status(err && err.name === "NotAllowedError"
        ? "The camera was not allowed. Allow it in the browser's site settings, then try again."
        : "No camera could be opened (" + ((err && err.name) || "error") + ").");
      return;
    }
    $("camera-video").srcObject = stream;
    $("camera-panel").classList.remove("d-none");
    $("camera-open").classList.add("d-none");
    status("Photos go to “" + labelName() + "”, with the same checks as uploads.");
  }

  function stop() {
    stopBurst();
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
  }

  function labelName() {
    const select = $("upload-label");
    return select ? select.options[select.selectedIndex].text : "";
  }

  function grab() {
    const video = $("camera-video");
    if (!stream || !video.videoWidth) return Promise.resolve(null);
    const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    const flash = $("camera-flash");
    flash.classList.add("on");
    setTimeout(function () { flash.classList.remove("on"); }, 60);
    return new Promise(function (resolve) {
      canvas.toBlob(function (blob) {
        if (!blob) { resolve(null); return; }
        taken += 1;
        const stamp = new Date().toISOString().replace(/[:.]/g, "-");
        resolve(new File([blob], "camera-" + stamp + "-" + taken + ".jpg", { type: "image/jpeg" }));
      }, "image/jpeg", 0.9);
    });
  }

  function flush() {
    // Each frame goes to the label chosen when it was taken, one batch at a time, in order.
    while (pending.length) {
      const label = pending[0].label;
      const files = [];
      while (pending.length && pending[0].label === label) files.push(pending.shift().file);
      sending = sending.then(function () {
        return window.AIMaker.sendImages(files, label, "camera").then(function () {
          sent += files.length;
          status(taken + " taken, " + sent + " sent.");
        });
      });
    }
    return sending;
  }

  async function shoot(sendNow) {
    const label = $("upload-label").value;
    const file = await grab();
    if (!file) return;
    pending.push({ file: file, label: label });
    status(taken + " taken, " + sent + " sent to “" + labelName() + "”.");
    if (sendNow || pending.length >= SEND_EVERY) flush();
  }

  function startBurst(ev) {
    ev.preventDefault();
    if (burst || !stream) return;
    $("camera-hold").classList.add("recording");
    shoot(false);
    burst = setInterval(function () { shoot(false); }, 1000 / BURST_FPS);
  }

  function stopBurst() {
    if (!burst) return;
    clearInterval(burst);
    burst = null;
    $("camera-hold").classList.remove("recording");
    flush();
  }

  $("camera-open").addEventListener("click", start);
  $("camera-close").addEventListener("click", function () {
    stop();
    flush();
    $("camera-panel").classList.add("d-none");
    $("camera-open").classList.remove("d-none");
  });
  $("camera-switch").addEventListener("click", function () {
    facing = facing === "environment" ? "user" : "environment";
    start();
  });
  $("camera-shot").addEventListener("click", function () { shoot(true); });
  const hold = $("camera-hold");
  hold.addEventListener("pointerdown", startBurst);
  ["pointerup", "pointerleave", "pointercancel"].forEach(function (t) { hold.addEventListener(t, stopBurst); });
  hold.addEventListener("contextmenu", function (ev) { ev.preventDefault(); });  // long press on phones
  hold.addEventListener("keydown", function (ev) { if ((ev.key === " " || ev.key === "Enter") && !ev.repeat) startBurst(ev); });
  hold.addEventListener("keyup", function (ev) { if (ev.key === " " || ev.key === "Enter") stopBurst(); });
  const select = $("upload-label");
  if (select) select.addEventListener("change", function () { if (stream) status("Photos go to “" + labelName() + "”."); });
  window.addEventListener("pagehide", stop);
  if (app.dataset.open === "1") start();
})();

/* Prediction page: pick, drop or shoot a photo, send it, draw the top labels (Chart.js).
 * Works without JavaScript too (plain form post); the server-rendered result is drawn the same
 * way from the #prediction-data JSON. */
(function () {
  "use strict";
  const TOP = 5;
  let chart = null;

  function el(id) { return document.getElementById(id); }

  function pct(p) { return (100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1) + "%"; }

  function draw(result) {
    el("predict-error").classList.add("d-none");
    el("predict-result").classList.remove("d-none");
    el("result-title").textContent = result.unknown ? "Closest: " + result.label : result.label;
    el("result-unknown").classList.toggle("d-none", !result.unknown);
    el("result-meta").textContent = pct(result.probability) + " · v" + result.version + " · " +
      result.duration_ms + " ms";
    const top = result.labels.slice(0, TOP);
    const data = {
      labels: top.map(function (r) { return r.label; }),
      datasets: [{ label: "Probability", data: top.map(function (r) { return r.probability; }),
                   backgroundColor: top.map(function (_, i) { return i === 0 ? "#0d6efd" : "#9ec5fe"; }) }],
    };
    if (chart) chart.destroy();
    if (window.Chart) {
      chart = new window.Chart(el("predict-chart"), {
        type: "bar",
        data: data,
        options: {
          indexAxis: "y", maintainAspectRatio: false, animation: false,
          scales: { x: { min: 0, max: 1, ticks: { callback: function (v) { return (100 * v) + "%"; } } } },
          plugins: { legend: { display: false },
                     tooltip: { callbacks: { label: function (c) { return pct(c.raw); } } } },
        },
      });
    }
    const body = el("all-labels").querySelector("tbody");
    body.innerHTML = "";
    result.labels.forEach(function (r) {
      const tr = document.createElement("tr");
      const a = document.createElement("td"); a.textContent = r.label;
      const b = document.createElement("td"); b.textContent = pct(r.probability);
      tr.append(a, b); body.appendChild(tr);
    });
    drawExplanation(result.explanation, result.probability);
    el("predict-chart").dataset.ready = "1";
  }

  // The occlusion grid as a small canvas the page stretches (smoothly) over the image, as a
  // spotlight: what the answer rests on stays bright, what hardly matters is dimmed. It reads
  // the same whatever the image's own colours are.
  function drawExplanation(explanation, probability) {
    const box = el("explain");
    const src = el("preview").getAttribute("src");
    if (!explanation || !src) { box.classList.add("d-none"); return; }
    const grid = explanation.grid;
    const rows = grid.length, cols = grid[0].length;
    const top = Math.max.apply(null, grid.map(function (r) { return Math.max.apply(null, r); }));
    const canvas = el("explain-heat");
    canvas.width = cols;
    canvas.height = rows;
    const ctx = canvas.getContext("2d");
    const pixels = ctx.createImageData(cols, rows);
    grid.forEach(function (row, i) {
      row.forEach(function (v, j) {
        const t = top > 0 ? v / top : 0;
        const k = 4 * (i * cols + j);
        pixels.data[k] = pixels.data[k + 1] = pixels.data[k + 2] = 0;
        pixels.data[k + 3] = Math.round(255 * 0.7 * (1 - t));
      });
    });
    ctx.putImageData(pixels, 0, 0);
    el("explain-img").src = src;
    el("explain-label").textContent = explanation.label;
    el("explain-note").textContent = (top >= 0.05
      ? "Bright: what the answer rests on. Hiding the brightest region lowers “" + explanation.label +
        "” from " + pct(probability) + " to " + pct(Math.max(0, probability - top)) + "."
      : "No single region changes the answer much: it rests on the whole image.") +
      " (" + explanation.duration_ms + " ms)";
    box.classList.remove("d-none");
  }

  function showError(message) {
    el("predict-result").classList.add("d-none");
    const box = el("predict-error");
    box.textContent = message;
    box.classList.remove("d-none");
  }

  function preview(file) {
    el("file-name").textContent = file ? file.name : "";
    const img = el("preview");
    if (file && file.type.indexOf("image/") === 0) {
      img.src = URL.createObjectURL(file);
      img.classList.remove("d-none");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = el("predict-form");
    if (!form) return;
    const input = el("id_image");
    const zone = el("drop-zone");
    const button = el("predict-btn");
    const initial = JSON.parse(el("prediction-data").textContent);
    if (initial) draw(initial);

    input.addEventListener("change", function () { preview(input.files[0]); });
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("bg-light"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("bg-light"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        preview(input.files[0]);
      }
    });
    el("explain-toggle").addEventListener("click", function () {
      const off = el("explain-box").classList.toggle("heat-off");
      this.textContent = off ? "Show heat map" : "Hide heat map";
      this.setAttribute("aria-pressed", off ? "false" : "true");
    });
    el("toggle-all").addEventListener("click", function () {
      const table = el("all-labels");
      table.classList.toggle("d-none");
      this.textContent = table.classList.contains("d-none") ? "Show all labels" : "Hide all labels";
    });

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!input.files.length) { showError("Choose an image file to predict."); return; }
      button.disabled = true;
      button.textContent = "Predicting…";
      fetch(form.dataset.jsonUrl, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" },
      }).then(function (r) {
        return r.json().catch(function () { return { error: "The server answered " + r.status + "." }; });
      }).then(function (data) {
        if (data.error) showError(data.error); else draw(data);
      }).catch(function () {
        showError("Could not reach the server. Check your connection and try again.");
      }).finally(function () {
        button.disabled = false;
        button.textContent = "Predict";
      });
    });
  });
})();

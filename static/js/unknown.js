/* The "not sure" slider: says, as it moves, what share of the owner's own images and of a
 * never-seen label's images that threshold would reject (from the training-time quantiles). */
(function () {
  "use strict";
  function interp(x, xs, ys) {  // numpy.interp for increasing xs
    if (x <= xs[0]) return ys[0];
    for (let i = 1; i < xs.length; i++) {
      if (x <= xs[i]) {
        const span = xs[i] - xs[i - 1];
        return span > 0 ? ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / span : ys[i];
      }
    }
    return ys[ys.length - 1];
  }
  document.addEventListener("DOMContentLoaded", function () {
    const slider = document.getElementById("id_reject_percent");
    const data = document.getElementById("unknown-levels");
    if (!slider || !data) return;
    const levels = JSON.parse(data.textContent);
    const steps = levels.own.map(function (_, i) { return i / (levels.own.length - 1); });
    function update() {
      const share = Number(slider.value) / 100;
      document.getElementById("unknown-own").textContent = slider.value + "%";
      if (!levels.held_out) return;
      const threshold = interp(1 - share, steps, levels.own);
      const held = 1 - interp(threshold, levels.held_out, steps);
      document.getElementById("unknown-effect").textContent =
        "Images of a label it never saw: about " + Math.round(100 * held) + "% called “not sure”.";
    }
    slider.addEventListener("input", update);
  });
})();

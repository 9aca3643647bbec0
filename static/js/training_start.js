/* The start-training form: shows the fine-tune fields only when fine-tuning is chosen, and
 * keeps the Advanced placeholders (the preset's values) in step with the chosen preset.
 * Without this script every field shows and empty fields still mean "the preset's value". */
(function () {
  "use strict";

  function plain(value) {
    if (typeof value !== "number") return String(value);
    return Number.isInteger(value) ? String(value) : value.toFixed(10).replace(/0+$/, "");
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("training-start-form");
    const data = document.getElementById("preset-params");
    if (!form || !data) return;
    const presets = JSON.parse(data.textContent);
    const finetune = document.getElementById("finetune-fields");
    const mode = form.elements.namedItem("mode");

    function sync() {
      const checked = form.querySelector('input[name="preset"]:checked');
      const params = presets[checked ? checked.value : "balanced"] || {};
      const effective = (mode && mode.value) || params.mode;
      if (finetune) finetune.hidden = effective !== "finetune";
      Object.keys(params).forEach(function (name) {
        const input = form.elements.namedItem(name);
        if (!input) return;
        if (input.tagName === "SELECT") {
          // "As the preset says (Yes)": name the value the empty choice stands for.
          let value = params[name];
          if (typeof value === "boolean") value = value ? "on" : "off";
          const option = Array.from(input.options).find(function (o) { return o.value === value; });
          input.options[0].textContent = "As the preset says (" + (option ? option.textContent : String(value)).split(" (")[0] + ")";
          return;
        }
        const value = name === "validation_split" ? Math.round(params[name] * 100) : params[name];
        input.placeholder = plain(value);
      });
    }

    form.addEventListener("change", sync);
    sync();
  });
})();

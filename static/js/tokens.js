/* The token page: copy a new token to the clipboard. */
(function () {
  // Shown only where scripts run; without them the field still selects itself on focus.
  const button = document.getElementById("copy-token");
  const field = document.getElementById("token-secret");
  button.hidden = false;
  function done(ok) {
    button.textContent = ok ? "Copied" : "Press Ctrl+C to copy";
    button.classList.toggle("btn-success", ok);
    button.classList.toggle("btn-outline-secondary", !ok);
  }
  button.addEventListener("click", function () {
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () { done(document.execCommand("copy")); });
    } else {
      done(document.execCommand("copy"));  // plain-http hosts have no Clipboard API
    }
  });
})();

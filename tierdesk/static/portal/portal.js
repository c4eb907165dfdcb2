// The self-service portal's behaviour. Loaded by <script src>; no inline script (CSP).
"use strict";

(function () {
  function size(bytes) {
    const units = ["bytes", "KB", "MB", "GB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (unit === 0 ? String(value) : value.toFixed(1)) + " " + units[unit];
  }

  // Refuse a file over the attachment limit before the form is sent, so nothing typed is lost.
  function checkFiles(input) {
    const limit = Number(input.dataset.maxBytes);
    const tooBig = Array.from(input.files || []).filter(function (file) {
      return file.size > limit;
    });
    const message = tooBig.length
      ? "Too big: " +
        tooBig.map(function (file) { return file.name + " (" + size(file.size) + ")"; }).join(", ") +
        ". Each file may be at most " + size(limit) + "; please choose smaller files (or a zip of them)."
      : "";
    input.setCustomValidity(message);
    input.setAttribute("aria-invalid", tooBig.length ? "true" : "false");
    const feedback = document.getElementById(input.id + "_sizecheck");
    if (feedback) {
      feedback.textContent = message;
      feedback.hidden = !message;
    }
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target instanceof HTMLInputElement && target.type === "file" && target.dataset.maxBytes) {
      checkFiles(target);
    }
  });
})();

// Progressive touches only: every page works without this file.
(function () {
  "use strict";

  // Edit order: show the cancellation fields only for "cancelled", the shipment fields only
  // for "shipped" (without JavaScript all fields show and the server checks them).
  function wireStatusForm(form) {
    var select = form.querySelector("select[name=status]");
    if (!select) return;
    var groups = form.querySelectorAll("[data-for-status]");
    function update() {
      groups.forEach(function (group) {
        var hasErrors = group.querySelector(".errorlist");
        group.hidden = group.getAttribute("data-for-status") !== select.value && !hasErrors;
      });
    }
    select.addEventListener("change", update);
    update();
  }

  // Confirm destructive buttons (revoke a token, rotate a secret).
  function wireConfirm(form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  }

  // Copy a shown-once secret to the clipboard.
  function wireCopy(button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target || !navigator.clipboard) return;
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        button.textContent = "Copied";
      });
    });
  }

  // Applying an update file: while the confirmation is answered, say how far it has got.
  function wireProgress(form) {
    var url = form.getAttribute("data-progress-url");
    var out = form.querySelector("#apply-progress");
    if (!url || !out) return;
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      out.hidden = false;
      out.textContent = "Applying…";
      function poll() {
        fetch(url, { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (data) {
            if (data) out.textContent = "Applying: " + data.done + " of " + data.total + " rows answered…";
          })
          .catch(function () {})
          .then(function () { window.setTimeout(poll, 1000); });
      }
      window.setTimeout(poll, 500);
    });
  }

  // A file being applied by a worker: count the rows answered, and show the result when done.
  function watchApply(section) {
    var url = section.getAttribute("data-progress-url");
    var done = section.querySelector("[data-done]");
    var total = section.querySelector("[data-total]");
    function poll() {
      fetch(url, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data && data.status !== "applying") {
            window.location.reload();
            return;
          }
          if (data) {
            done.textContent = data.done;
            total.textContent = data.total;
          }
          window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    window.setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-progress-url]").forEach(wireProgress);
    document.querySelectorAll("div[data-progress-url]").forEach(watchApply);
    document.querySelectorAll("form[data-status-form]").forEach(wireStatusForm);
    document.querySelectorAll("form[data-confirm]").forEach(wireConfirm);
    document.querySelectorAll("button[data-copy]").forEach(wireCopy);
  });
})();

// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Forms that change something important ask for confirmation first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  // Print buttons (the course summary).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) { window.print(); }
  });
  // Move focus to an error summary so keyboard and screen-reader users hear it first.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();

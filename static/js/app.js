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
  // A table too wide for its box scrolls inside it (the page never scrolls sideways): that box
  // then becomes a labelled region the keyboard can reach and scroll, and stops being one when
  // the table fits again (a wider window, a rotated tablet).
  function labelOf(wrap) {
    var table = wrap.querySelector("table");
    var caption = table && table.caption;
    var section = wrap.closest("section, main");
    var heading = caption || (section && section.querySelector("h1, h2, h3"));
    return (heading ? heading.textContent.trim() : "Table") + " (scrolls sideways)";
  }
  function markScrollingTables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("data-scrolls")) {
        wrap.setAttribute("data-scrolls", "");
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", labelOf(wrap));
      } else if (!scrolls && wrap.hasAttribute("data-scrolls")) {
        ["data-scrolls", "tabindex", "role", "aria-label"].forEach(function (name) { wrap.removeAttribute(name); });
      }
    });
  }
  var resizeTimer;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(markScrollingTables, 150);
  });
  document.addEventListener("DOMContentLoaded", markScrollingTables);
  // Move focus to an error summary so keyboard and screen-reader users hear it first.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();

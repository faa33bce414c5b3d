// Progressive enhancements only: every page works without this file.
(function () {
  "use strict";

  // Opened straight from disk, "background/" shows a folder listing: point links at index.html.
  if (window.location.protocol === "file:") {
    document.querySelectorAll("a[href]").forEach(function (link) {
      var href = link.getAttribute("href");
      if (!/^[a-z]+:|^\/\//i.test(href) && /(^|\/)(#.*)?$/.test(href.split("?")[0])) {
        var parts = href.split("#");
        link.setAttribute("href", parts[0] + (parts[0] === "" ? "" : "index.html") + (parts.length > 1 ? "#" + parts[1] : ""));
      }
    });
  }

  // Timeline: filter events by category.
  var filter = document.querySelector("[data-timeline-filter]");
  if (filter) {
    var buttons = filter.querySelectorAll("button[data-category]");
    var events = document.querySelectorAll(".timeline .event[data-category]");
    var years = document.querySelectorAll(".timeline .timeline-year");
    var status = filter.querySelector(".filter-status");
    filter.hidden = false;
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var wanted = button.getAttribute("data-category");
        buttons.forEach(function (other) { other.setAttribute("aria-pressed", String(other === button)); });
        events.forEach(function (event) {
          event.hidden = wanted !== "" && event.getAttribute("data-category") !== wanted;
        });
        var shown = 0;
        events.forEach(function (event) { if (!event.hidden) { shown += 1; } });
        if (status) {
          // The sentence comes from the page's language: data-status holds it with {shown}, {total} and {category}.
          var sentence = filter.getAttribute("data-status") || "{shown} / {total}: {category}";
          status.textContent = wanted === "" ? "" : sentence.replace("{shown}", String(shown))
            .replace("{total}", String(events.length)).replace("{category}", button.textContent);
        }
        years.forEach(function (heading) {
          var list = heading.nextElementSibling;
          var visible = list && list.querySelector(".event:not([hidden])");
          heading.hidden = !visible;
          if (list) { list.hidden = !visible; }
        });
      });
    });
  }
})();

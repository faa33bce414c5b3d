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
  // The table of contents opens where there is room for it (style.css already shows it open there).
  if (window.matchMedia("(min-width: 48rem)").matches) {
    document.querySelectorAll("details[data-open-wide]").forEach(function (details) { details.open = true; });
  }

  // On a phone the navigation is one scrolling row: bring the current page's item into view.
  var current = document.querySelector(".site-nav [aria-current='page']");
  var row = current && current.closest("ul");
  if (row && row.scrollWidth > row.clientWidth) {
    row.scrollLeft = current.getBoundingClientRect().left - row.getBoundingClientRect().left - 24;
  }

  // Citations and glossary terms on tap: a small dialog beside the link shows the source or the
  // definition, with a link to where the link itself leads. Without this script the links just go there.
  var words = (document.getElementById("interface-strings") || document.body).dataset;
  var popover = null;
  var opener = null;

  function closePopover(returnFocus) {
    if (!popover) { return; }
    popover.remove();
    opener.setAttribute("aria-expanded", "false");
    if (returnFocus) {
      // Focus goes back to the link, which would show a term's tip again: it stays hidden until the link loses focus.
      var link = opener;
      link.dataset.tipClosed = "";
      link.addEventListener("blur", function () { delete link.dataset.tipClosed; }, { once: true });
      link.focus();
    }
    popover = null;
    opener = null;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    if (text) { node.textContent = text; }
    return node;
  }

  function openPopover(link, anchor, heading, content, moreHref, moreText) {
    closePopover(false);
    opener = link;
    popover = element("span", "popover");
    popover.setAttribute("role", "dialog");
    popover.setAttribute("aria-labelledby", "popover-title");
    popover.tabIndex = -1;
    var title = element("span", "popover-title", heading);
    title.id = "popover-title";
    var close = element("button", "popover-close", words.close);
    close.type = "button";
    close.addEventListener("click", function () { closePopover(true); });
    var more = element("a", "popover-more", moreText);
    more.href = moreHref;
    more.addEventListener("click", function () { closePopover(false); });
    popover.append(title, content, more, close);
    anchor.after(popover);  // next in reading and Tab order; absolutely placed, so nothing moves
    var box = link.getBoundingClientRect();
    var origin = popover.offsetParent ? popover.offsetParent.getBoundingClientRect() : { left: 0, top: 0 };
    var width = popover.offsetWidth;
    var left = Math.max(8, Math.min(box.left, document.documentElement.clientWidth - width - 8));
    popover.style.left = (left - origin.left) + "px";
    popover.style.top = (box.bottom - origin.top + 6) + "px";
    link.setAttribute("aria-expanded", "true");
    popover.focus();
  }

  document.querySelectorAll(".cite a[href^='#source-'], a.term[aria-describedby]").forEach(function (link) {
    link.setAttribute("aria-haspopup", "dialog");
    link.setAttribute("aria-expanded", "false");
    link.addEventListener("click", function (event) {
      var isTerm = link.classList.contains("term");
      var target = document.getElementById(isTerm ? link.getAttribute("aria-describedby") : link.getAttribute("href").slice(1));
      if (!target) { return; }
      event.preventDefault();
      if (opener === link) { closePopover(true); return; }
      var content = element("span", "popover-body");
      if (isTerm) {
        content.textContent = target.textContent;
        openPopover(link, link.parentNode, words.definition + ": " + link.textContent, content, link.href, words.toGlossary);
      } else {
        // the entry in the page's list, without its links back to the markers
        var entry = target.cloneNode(true);
        entry.removeAttribute("id");
        entry.querySelectorAll(".backlinks, [id]").forEach(function (node) {
          if (node.classList.contains("backlinks")) { node.remove(); } else { node.removeAttribute("id"); }
        });
        content.append.apply(content, Array.prototype.slice.call(entry.childNodes));
        openPopover(link, link.closest(".cite"), words.source + " " + link.firstChild.textContent, content,
                    link.getAttribute("href"), words.toList);
      }
    });
  });

  // A term's tip (shown on hover and focus, by the style sheet) moves left when it would run off the screen.
  document.querySelectorAll(".term-wrap").forEach(function (wrap) {
    function keepTipOnScreen() {
      var tip = wrap.querySelector(".term-tip");
      if (!tip) { return; }
      tip.style.left = "";
      var box = tip.getBoundingClientRect();
      var over = box.right - (document.documentElement.clientWidth - 8);
      if (over > 0) { tip.style.left = -Math.min(over, Math.max(0, box.left - 8)) + "px"; }
    }
    wrap.addEventListener("mouseenter", keepTipOnScreen);
    wrap.addEventListener("focusin", keepTipOnScreen);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && popover) { closePopover(true); }
  });
  document.addEventListener("click", function (event) {
    if (popover && !popover.contains(event.target) && !opener.contains(event.target)) { closePopover(false); }
  });
})();

/* Canned replies in the moderator's composer (templates/canned/_picker.html): "/" in an empty
   composer or the "/" button opens the list, loaded from the server for the open conversation;
   typing filters it (the server filters), ArrowUp/ArrowDown move, Enter or a click puts the reply's
   text into the composer (as text, not sent), Escape closes and gives the composer its focus back. */
(function () {
  "use strict";

  var timer = null;
  var asked = 0;

  function panelOf(el) { var form = el.closest("form"); return form && form.querySelector("[data-canned-panel]"); }
  function composerOf(panel) { return panel.closest("form").querySelector("textarea[name=body]"); }
  function items(panel) { return Array.prototype.slice.call(panel.querySelectorAll("[data-canned-item]")); }

  function setActive(panel, index) {
    var list = items(panel);
    if (!list.length) { return; }
    index = (index + list.length) % list.length;
    list.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
    list[index].scrollIntoView({ block: "nearest" });
    panel.querySelector("[data-canned-filter]").setAttribute("aria-activedescendant", list[index].id);
  }

  function activeIndex(panel) {
    return items(panel).findIndex(function (li) { return li.getAttribute("aria-selected") === "true"; });
  }

  function show(panel, replies) {
    var ul = panel.querySelector("[data-canned-list]");
    ul.replaceChildren();
    replies.forEach(function (reply) {
      var li = document.createElement("li");
      li.id = "canned-" + reply.id;
      li.setAttribute("role", "option");
      li.setAttribute("data-canned-item", "");
      li.dataset.text = reply.text;
      var title = document.createElement("strong");
      title.textContent = reply.title;
      var text = document.createElement("span");
      text.className = "canned-text muted";
      text.textContent = reply.text;
      li.append(title, text);
      ul.appendChild(li);
    });
    panel.querySelector("[data-canned-none]").hidden = replies.length > 0;
    setActive(panel, 0);
  }

  function load(panel) {
    var query = panel.querySelector("[data-canned-filter]").value;
    var mine = ++asked;
    var url = panel.dataset.url + "?q=" + encodeURIComponent(query);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (data) {
        if (mine !== asked) { return; }
        panel.querySelector("[data-canned-failed]").hidden = true;
        show(panel, data.replies);
      })
      .catch(function () {
        if (mine !== asked) { return; }
        panel.querySelector("[data-canned-failed]").hidden = false;
      });
  }

  function open(panel) {
    var filter = panel.querySelector("[data-canned-filter]");
    panel.hidden = false;
    filter.value = "";
    load(panel);
    filter.focus();
  }

  function close(panel, focusComposer) {
    panel.hidden = true;
    if (focusComposer) { composerOf(panel).focus(); }
  }

  function insert(panel, li) {
    var composer = composerOf(panel);
    var text = li.dataset.text;
    var start = composer.selectionStart, end = composer.selectionEnd;
    composer.value = composer.value.slice(0, start) + text + composer.value.slice(end);
    close(panel, true);
    composer.setSelectionRange(start + text.length, start + text.length);
    composer.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("keydown", function (evt) {
    var t = evt.target;
    if (t.matches && t.matches("textarea[name=body]") && evt.key === "/" && !t.value && !evt.isComposing) {
      var panel = panelOf(t);
      if (panel) { evt.preventDefault(); open(panel); }
      return;
    }
    if (!(t.matches && t.matches("[data-canned-filter]"))) { return; }
    var own = panelOf(t);
    if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
      evt.preventDefault();
      setActive(own, activeIndex(own) + (evt.key === "ArrowDown" ? 1 : -1));
    } else if (evt.key === "Enter") {
      evt.preventDefault();  // never the form's submit
      var chosen = items(own)[activeIndex(own)];
      if (chosen) { insert(own, chosen); }
    } else if (evt.key === "Escape") {
      evt.preventDefault();
      close(own, true);
    }
  });

  document.addEventListener("input", function (evt) {
    if (!(evt.target.matches && evt.target.matches("[data-canned-filter]"))) { return; }
    var panel = panelOf(evt.target);
    clearTimeout(timer);
    timer = setTimeout(function () { load(panel); }, 150);
  });

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-canned-open]");
    if (button) {
      var panel = panelOf(button);
      if (panel.hidden) { open(panel); } else { close(panel, true); }
      return;
    }
    var li = evt.target.closest && evt.target.closest("[data-canned-item]");
    if (li) { insert(panelOf(li), li); return; }
    document.querySelectorAll("[data-canned-panel]:not([hidden])").forEach(function (panel) {
      if (!panel.contains(evt.target)) { close(panel, false); }
    });
  });
})();

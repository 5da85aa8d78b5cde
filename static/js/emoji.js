/* Emoji: the composer's picker (over the emoji data set vendored under static/vendor, fetched once
   on first use, in the page's language), the quick reactions a message's "React" opens, and giving
   or taking back a reaction (the server answers with the message's reactions; both sides also get
   them pushed). No inline script or style (CSP): plain elements, styled by css/reactions.css;
   popovers are placed through the CSSOM. */
(function () {
  "use strict";

  var COMPONENTS = 2;        // the data set's skin-tone and hair swatches: parts of emoji, not emoji
  var SEARCH_MAX = 200;      // emoji shown for a search
  var data = null, loading = null;
  var mode = null;           // {textarea: …} inserting into the composer, or {messageId: …} reacting
  var quickFor = null;       // the message whose quick reactions are open

  function panel() { return document.querySelector("[data-emoji-panel]"); }
  function quick() { return document.querySelector("[data-quick-reactions]"); }

  function load(p) {
    if (data) { return Promise.resolve(data); }
    if (!loading) {
      loading = fetch(p.getAttribute("data-src"), { credentials: "same-origin" })
        .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
        .then(function (list) {
          data = list.filter(function (e) { return e.group !== undefined && e.group !== COMPONENTS; });
          return data;
        })
        .catch(function (error) { loading = null; throw error; });
    }
    return loading;
  }

  function emojiButton(entry) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "emoji";
    b.setAttribute("role", "gridcell");
    b.setAttribute("data-emoji", entry.unicode);
    b.title = entry.label;
    b.textContent = entry.unicode;
    return b;
  }

  function show(p, list) {
    var grid = p.querySelector("[data-emoji-grid]");
    var fragment = document.createDocumentFragment();
    list.forEach(function (entry) { fragment.appendChild(emojiButton(entry)); });
    grid.replaceChildren(fragment);
    grid.scrollTop = 0;
    p.querySelector("[data-emoji-none]").hidden = list.length > 0;
  }

  function showGroup(p, group) {
    p.querySelectorAll("[data-emoji-group]").forEach(function (tab) {
      tab.setAttribute("aria-selected", String(parseInt(tab.getAttribute("data-emoji-group"), 10) === group));
    });
    p.dataset.group = String(group);
    show(p, data.filter(function (e) { return e.group === group; }));
  }

  function search(p, text) {
    var words = text.trim().toLowerCase();
    if (!data) { return; }
    if (!words) { showGroup(p, parseInt(p.dataset.group || "0", 10)); return; }
    show(p, data.filter(function (e) {
      return e.label.toLowerCase().indexOf(words) >= 0 ||
        (e.tags || []).some(function (tag) { return tag.indexOf(words) === 0; });
    }).slice(0, SEARCH_MAX));
  }

  function openPanel(newMode) {
    var p = panel();
    if (!p) { return; }
    closeQuick();
    mode = newMode;
    p.hidden = false;
    var field = p.querySelector("[data-emoji-search]");
    field.value = "";
    load(p).then(function () {
      p.querySelector("[data-emoji-loading]").hidden = true;
      showGroup(p, parseInt(p.dataset.group || "0", 10));
    }, function () { p.querySelector("[data-emoji-loading]").hidden = false; });
    if (window.matchMedia("(hover: hover)").matches) { field.focus(); }
  }

  function closePanel() {
    var p = panel();
    if (p) { p.hidden = true; }
    mode = null;
  }

  function openQuick(button) {
    var q = quick(), message = button.closest("[data-msg-id]");
    if (!q || !message) { return; }
    closePanel();
    quickFor = message.getAttribute("data-msg-id");
    q.hidden = false;
    var r = button.getBoundingClientRect(), w = q.offsetWidth, h = q.offsetHeight;
    q.style.left = Math.max(8, Math.min(window.innerWidth - w - 8, r.left + r.width / 2 - w / 2)) + "px";
    q.style.top = (r.top - h - 6 < 8 ? r.bottom + 6 : r.top - h - 6) + "px";
    var first = q.querySelector("button");
    if (first) { first.focus({ preventScroll: true }); }
  }

  function closeQuick() {
    var q = quick();
    if (q) { q.hidden = true; }
    quickFor = null;
  }

  /* On a touch screen a message's tools show once it is tapped (one message at a time). */
  function toggleTools(message) {
    document.querySelectorAll(".msg.tools-open").forEach(function (open) {
      if (open !== message) { open.classList.remove("tools-open"); }
    });
    if (message) { message.classList.toggle("tools-open"); }
  }

  /* A message's tools, from the page's one template: put into the message the first time it is
     pointed at, focused or tapped (its reply button names it). */
  function toolsTemplate() { return document.getElementById("msg-tools-template"); }

  function withTools(message) {
    var template = toolsTemplate();
    if (!message || !template || message.querySelector(".msg-tools")) { return; }
    var tools = template.content.querySelector(".msg-tools").cloneNode(true);
    tools.querySelector("[data-reply-to]").setAttribute("data-reply-to", message.getAttribute("data-msg-id"));
    message.appendChild(tools);
  }

  function messageOf(target) { return target && target.closest ? target.closest(".msg[data-msg-id]") : null; }

  document.addEventListener("mouseover", function (evt) { withTools(messageOf(evt.target)); });
  document.addEventListener("focusin", function (evt) { withTools(messageOf(evt.target)); });

  function react(messageId, emoji) {
    var bar = document.getElementById("reactions-" + messageId), template = toolsTemplate();
    if (!bar || !template || !window.htmx) { return; }
    htmx.ajax("POST", template.getAttribute("data-react-url").replace("/0/", "/" + messageId + "/"),
      { source: bar, target: "#reactions-" + messageId, swap: "outerHTML", values: { emoji: emoji } });
  }

  function insert(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    if (typeof start !== "number") { start = end = textarea.value.length; }
    textarea.setRangeText(text, start, end, "end");
    textarea.focus();
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (evt) {
    var t = evt.target.closest ? evt.target.closest("button") : null;
    if (t && t.hasAttribute("data-react")) {
      react(t.closest(".reactions").id.replace("reactions-", ""), t.getAttribute("data-react"));
    } else if (t && t.hasAttribute("data-react-open")) {
      if (quickFor && quickFor === t.closest("[data-msg-id]").getAttribute("data-msg-id")) { closeQuick(); }
      else { openQuick(t); }
    } else if (t && t.hasAttribute("data-quick")) {
      react(quickFor, t.getAttribute("data-quick"));
      closeQuick();
    } else if (t && t.hasAttribute("data-quick-more")) {
      openPanel({ messageId: quickFor });
    } else if (t && t.hasAttribute("data-emoji-open")) {
      if (panel() && !panel().hidden) { closePanel(); }
      else { openPanel({ textarea: t.form.querySelector("textarea") }); }
    } else if (t && t.hasAttribute("data-emoji-group")) {
      panel().querySelector("[data-emoji-search]").value = "";
      showGroup(panel(), parseInt(t.getAttribute("data-emoji-group"), 10));
    } else if (t && t.hasAttribute("data-emoji")) {
      var chosen = t.getAttribute("data-emoji"), current = mode;
      closePanel();
      if (current && current.textarea) { insert(current.textarea, chosen); }
      else if (current && current.messageId) { react(current.messageId, chosen); }
    } else if (t && t.hasAttribute("data-emoji-close")) {
      closePanel();
    } else {
      if (!evt.target.closest("[data-quick-reactions]")) { closeQuick(); }
      if (!evt.target.closest("[data-emoji-panel]")) { closePanel(); }
      if (!t && !evt.target.closest("a")) { withTools(messageOf(evt.target)); toggleTools(evt.target.closest(".msg")); }
    }
  });

  document.addEventListener("input", function (evt) {
    if (evt.target.matches && evt.target.matches("[data-emoji-search]")) { search(panel(), evt.target.value); }
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") { return; }
    if ((panel() && !panel().hidden) || (quick() && !quick().hidden)) {
      closePanel();
      closeQuick();
      evt.preventDefault();
    }
  });

  document.addEventListener("scroll", function (evt) {
    if (quickFor && evt.target.matches && evt.target.matches("[data-messages]")) { closeQuick(); }
  }, true);
})();

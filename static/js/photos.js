/* Photos in chat: the composer's picker (the next message carries the photo, its text the caption),
   the upload's progress, and the lightbox. No inline script anywhere (CSP): everything lives here. */
(function () {
  "use strict";

  function formOf(el) { return el && el.closest ? el.closest("form[data-send-form]") : null; }
  function picker(form) { return form ? form.querySelector("[data-photo-input]") : null; }
  function chosen(form) { var input = picker(form); return !!(input && input.files && input.files.length); }

  function showError(form, text) {
    var error = form.querySelector(".send-error");
    if (!error) { return; }
    error.textContent = "";
    var alert = document.createElement("div");
    alert.className = "alert alert-error";
    alert.setAttribute("role", "alert");
    alert.textContent = text;
    error.appendChild(alert);
  }

  /* With a photo the form goes as multipart and the text is optional; without, as before. */
  function setChosen(form, on) {
    var status = form.querySelector("[data-photo-status]");
    var progress = form.querySelector("[data-photo-progress]");
    var textarea = form.querySelector("textarea");
    if (on) {
      form.setAttribute("hx-encoding", "multipart/form-data");
      textarea.removeAttribute("required");
      form.querySelector("[data-photo-name]").textContent = picker(form).files[0].name;
    } else {
      picker(form).value = "";
      form.removeAttribute("hx-encoding");
      textarea.setAttribute("required", "");
    }
    if (status) { status.hidden = !on; }
    if (progress) { progress.hidden = true; progress.value = 0; }
  }

  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches("[data-photo-input]")) { return; }
    var form = formOf(input);
    // another photo is another message: never the client token of an earlier failed send
    delete form.dataset.failedToken;
    delete form.dataset.failedBody;
    var error = form.querySelector(".send-error");
    if (error) { error.textContent = ""; }
    if (!input.files.length) { setChosen(form, false); return; }
    var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
    if (limit && input.files[0].size > limit) {
      showError(form, input.getAttribute("data-too-large-text"));
      setChosen(form, false);
      return;
    }
    setChosen(form, true);
    var textarea = form.querySelector("textarea");
    if (textarea) { textarea.focus(); }
  });

  document.addEventListener("click", function (evt) {
    var clear = evt.target.closest ? evt.target.closest("[data-photo-clear]") : null;
    if (clear) { setChosen(formOf(clear), false); }
  });

  /* Enter sends a photo without a caption too (app.js sends only when there is text). */
  document.addEventListener("keydown", function (evt) {
    var t = evt.target, form = formOf(t);
    if (t.tagName !== "TEXTAREA" || !form || evt.key !== "Enter" || evt.shiftKey || evt.isComposing) { return; }
    if (!t.value.trim() && chosen(form)) { evt.preventDefault(); form.requestSubmit(); }
  });

  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = formOf(evt.detail.elt || evt.target);
    if (!form || !chosen(form) || !evt.detail.lengthComputable || !evt.detail.total) { return; }
    var progress = form.querySelector("[data-photo-progress]");
    progress.hidden = false;
    progress.value = Math.round(100 * evt.detail.loaded / evt.detail.total);
    progress.textContent = progress.value + " %";
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = formOf(evt.detail.elt);
    if (!form || form !== evt.detail.elt || !chosen(form)) { return; }
    if (evt.detail.successful) {
      setChosen(form, false);
    } else {
      var progress = form.querySelector("[data-photo-progress]");
      if (progress) { progress.hidden = true; }   // the photo stays chosen: send again, or remove it
    }
  });

  /* --- the lightbox: the display size over the page; Escape, the button or a click closes it --- */
  function lightbox() {
    var dialog = document.getElementById("lightbox");
    if (dialog) { return dialog; }
    dialog = document.createElement("dialog");
    dialog.id = "lightbox";
    dialog.className = "lightbox";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "lightbox-close";
    close.textContent = "×";
    var img = document.createElement("img");
    dialog.appendChild(close);
    dialog.appendChild(img);
    dialog.addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { img.removeAttribute("src"); });
    document.body.appendChild(dialog);
    return dialog;
  }

  document.addEventListener("click", function (evt) {
    var link = evt.target.closest ? evt.target.closest("a[data-lightbox]") : null;
    if (!link || evt.ctrlKey || evt.metaKey || evt.shiftKey || evt.button !== 0) { return; }
    evt.preventDefault();
    var dialog = lightbox(), img = dialog.querySelector("img"), thumb = link.querySelector("img");
    dialog.querySelector("button").setAttribute("aria-label", link.getAttribute("data-close-text") || "×");
    img.setAttribute("width", link.getAttribute("data-width"));
    img.setAttribute("height", link.getAttribute("data-height"));
    img.alt = thumb ? thumb.alt : "";
    img.src = link.href;
    dialog.showModal();
  });
})();

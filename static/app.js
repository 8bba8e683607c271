// Progressive enhancement only: every page works without this file.
// Styles that need this file (the Chinese file picker) key on .js.
document.documentElement.classList.add("js");
// Confirmation before irreversible steps (CSP forbids inline handlers).
// (A form sent by htmx asks in its htmx:confirm, below: htmx has sent it by now.)
document.addEventListener("submit", function (ev) {
  if (window.htmx && ev.target.hasAttribute && ev.target.hasAttribute("hx-post")) { return; }
  var btn = ev.submitter || ev.target.querySelector("[data-confirm]");
  var msg = btn && btn.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    ev.preventDefault();
  }
});
// Focus the error summary so keyboard and screen-reader users land on it.
document.addEventListener("DOMContentLoaded", function () {
  var s = document.getElementById("error-summary");
  if (s) { s.focus(); }
});
// Live character counts next to long texts, counted as the server counts:
// every character once, surrounding white space and inner line breaks not.
function countChars(s) {
  return Array.from(s.trim().replace(/[\n\r\u000B\u000C\u0085\u2028\u2029\uFEFF\u200B-\u200D\u2060]/g, "")).length;
}
document.addEventListener("input", function (ev) {
  var t = ev.target;
  if (!t || t.tagName !== "TEXTAREA" || !t.hasAttribute("data-max")) { return; }
  var out = document.getElementById("c-" + t.name);
  if (!out) { return; }
  var n = countChars(t.value);
  var min = parseInt(t.getAttribute("data-min") || "0", 10);
  var max = parseInt(t.getAttribute("data-max"), 10);
  var strong = out.querySelector("strong");
  if (strong) { strong.textContent = String(n); }
  out.classList.toggle("count-bad", n > max || (min > 0 && n > 0 && n < min));
});

// A manual save waits for an autosave in flight, so both never post the same version.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  if (!form.classList || !form.classList.contains("app-form") || !form.classList.contains("htmx-request")) { return; }
  ev.preventDefault();
  var submitter = ev.submitter;
  form.addEventListener("htmx:afterRequest", function () {
    if (form.requestSubmit) { form.requestSubmit(submitter); } else { form.submit(); }
  }, { once: true });
});

// Autosave posts the form as a JSON array of [name, value] pairs: %XX escapes
// triple the size of Chinese text, JSON carries it as it is. The body is then
// not a form the server reads a token from, so the CSRF token goes in a header.
if (window.htmx) {
  htmx.defineExtension("pairs-json", {
    onEvent: function (name, ev) {
      if (name === "htmx:configRequest") {
        ev.detail.headers["Content-Type"] = "application/json";
        var token = ev.detail.elt.querySelector("input[name=_csrf]");
        if (token) { ev.detail.headers["X-CSRF-Token"] = token.value; }
      }
      return true;
    },
    encodeParameters: function (xhr, parameters) {
      xhr.overrideMimeType("text/html");
      var pairs = [];
      parameters.forEach(function (value, name) {
        if (typeof value === "string") { pairs.push([name, value]); }
      });
      return JSON.stringify(pairs);
    }
  });
}

// A failed autosave says so where the user looks for its result, and the
// page stays as it is: nothing typed is lost by a failed save. A 403 is the
// security check refusing the request: the login ended (or the page is stale).
function autosaveFailed(ev) {
  var form = ev.detail && ev.detail.elt;
  var status = document.getElementById("save-status");
  if (!status || !form || !form.classList || !form.classList.contains("app-form")) { return; }
  var xhr = ev.detail.xhr;
  var msg = document.createElement("strong");
  msg.className = "bad";
  msg.textContent = xhr && xhr.status === 403
    ? "登录已超时或页面已过期，本次修改未能自动保存。请先复制本页新填写的内容，重新登录后再粘贴保存。"
    : "自动保存失败，本次修改尚未保存：请检查网络后点击“保存草稿”。";
  status.replaceChildren(msg);
}
document.addEventListener("htmx:responseError", autosaveFailed);
document.addEventListener("htmx:sendError", autosaveFailed);

// ── The 申报书 page: nothing typed is lost to an upload, a delete or leaving
// the page (issue #21). Typing is unsaved from the keystroke until an
// autosave that carried it has succeeded.
var edits = 0;
var savedEdits = 0;
var submitting = false;
function appForm() { return document.querySelector("form.app-form"); }
function unsaved() { return edits > savedEdits && appForm() !== null; }
function inAppForm(el) { return el && el.closest && el.closest("form.app-form"); }
document.addEventListener("input", function (ev) { if (inAppForm(ev.target)) { edits++; } });
document.addEventListener("change", function (ev) { if (inAppForm(ev.target)) { edits++; } });
document.addEventListener("htmx:beforeRequest", function (ev) {
  if (ev.detail.elt && ev.detail.elt.matches && ev.detail.elt.matches("form.app-form")) {
    ev.detail.xhr.sbEdits = edits;
  }
});
document.addEventListener("htmx:afterRequest", function (ev) {
  var xhr = ev.detail.xhr;
  if (!ev.detail.elt || !ev.detail.elt.matches || !ev.detail.elt.matches("form.app-form") || !xhr) { return; }
  // Saved is the answer carrying the new version; a paused save is not.
  if (ev.detail.successful && xhr.responseText.indexOf('name="_version"') >= 0) {
    savedEdits = Math.max(savedEdits, xhr.sbEdits || 0);
  }
});

// Runs `then` once the form's typing is saved: waits for an autosave in
// flight, and sends one at once if something is still unsaved. A failed
// save says so in the status line and keeps the text on the page; `then`
// runs anyway (and at the latest after 15 s), since an upload or delete
// by htmx leaves the page as it is.
function whenSaved(then) {
  var form = appForm();
  var done = false;
  function finish() { if (!done) { done = true; then(); } }
  if (!form || !window.htmx) { finish(); return; }
  window.setTimeout(finish, 15000);
  (function step() {
    if (done) { return; }
    if (form.classList.contains("htmx-request")) {
      form.addEventListener("htmx:afterRequest", function () { window.setTimeout(step, 0); }, { once: true });
      return;
    }
    if (!unsaved()) { finish(); return; }
    form.addEventListener("htmx:afterRequest", function () { window.setTimeout(finish, 0); }, { once: true });
    htmx.trigger(form, "flush");
  })();
}

// Leaving the page with unsaved typing: a link saves first; a reload,
// closing the tab or going back asks. The form's own save button does not.
document.addEventListener("submit", function (ev) {
  if (!ev.defaultPrevented && ev.target.matches && ev.target.matches("form.app-form")) { submitting = true; }
});
window.addEventListener("beforeunload", function (ev) {
  if (submitting || !unsaved()) { return; }
  ev.preventDefault();
  ev.returnValue = "";
});
document.addEventListener("click", function (ev) {
  var a = ev.target.closest && ev.target.closest("a[href]");
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) { return; }
  if ((a.target && a.target !== "_self") || a.getAttribute("href").charAt(0) === "#" || !unsaved()) { return; }
  ev.preventDefault();
  whenSaved(function () { window.location.href = a.href; });
});

// A message in an attachment slot, where the user is looking.
function slotSays(el, text, bad) {
  var slot = el.closest(".slot");
  var box = slot && slot.querySelector(".slot-msg");
  if (!box) { return; }
  var p = document.createElement("p");
  p.className = bad ? "field-error" : "muted";
  p.setAttribute("role", bad ? "alert" : "status");
  p.textContent = text;
  box.replaceChildren(p);
  slot.classList.toggle("has-error", bad);
}

// Why the file chosen in `input` is not sent: none chosen, or larger than
// its slot takes (the server checks again as it streams the file in).
function fileRefusal(input) {
  if (!input || !input.files || input.files.length === 0) { return "请先选择要上传的文件。"; }
  var max = parseInt(input.getAttribute("data-max-bytes") || "0", 10);
  var size = input.files[0].size;
  if (max > 0 && size > max) {
    return "文件大小为" + (size / 1048576).toFixed(1) + " MB，超过本项上限" +
      input.getAttribute("data-max-text") + "，请压缩后再上传。";
  }
  return "";
}
document.addEventListener("change", function (ev) {
  var input = ev.target;
  if (!input.matches || !input.matches("form.upload input[type=file]")) { return; }
  var name = input.closest("form").querySelector(".file-name");
  if (name) { name.textContent = input.files && input.files.length ? input.files[0].name : "未选择文件"; }
  var why = input.files && input.files.length ? fileRefusal(input) : "";
  if (why) {
    slotSays(input, why, true);
  } else {
    var box = input.closest(".slot").querySelector(".slot-msg");
    if (box) { box.replaceChildren(); }
    input.closest(".slot").classList.remove("has-error");
  }
});
// Without htmx (it failed to load), the plain upload form still checks.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  if (ev.defaultPrevented || !form.matches || !form.matches("form.upload")) { return; }
  var why = fileRefusal(form.querySelector("input[type=file]"));
  if (why) {
    ev.preventDefault();
    slotSays(form, why, true);
  }
});

// An upload or delete by htmx: checked, confirmed, and sent only once the
// typing above is saved; the server answers with the slot, message inside.
document.addEventListener("htmx:confirm", function (ev) {
  var form = ev.detail.elt;
  if (!form.matches || !form.matches("form.upload, form.delete")) { return; }
  ev.preventDefault();
  if (form.matches("form.upload")) {
    var why = fileRefusal(form.querySelector("input[type=file]"));
    if (why) { slotSays(form, why, true); return; }
    slotSays(form, "正在上传，请稍候……", false);
  } else {
    var btn = form.querySelector("[data-confirm]");
    if (btn && !window.confirm(btn.getAttribute("data-confirm"))) { return; }
  }
  whenSaved(function () { ev.detail.issueRequest(true); });
});
function slotFailed(ev) {
  var form = ev.detail && ev.detail.elt;
  if (!form || !form.matches || !form.matches("form.upload, form.delete")) { return; }
  var xhr = ev.detail.xhr;
  var what = form.matches("form.upload") ? "上传" : "删除";
  var msg;
  if (xhr && xhr.status === 403) {
    msg = "登录已超时或页面已过期，未能" + what + "。请重新登录后再试。";
  } else if (xhr && xhr.status === 413) {
    msg = "文件过大，未能上传，请压缩后再上传。";
  } else {
    msg = what + "未完成：网络中断或服务器暂时无法响应，请稍后重试。";
  }
  slotSays(form, msg, true);
}
document.addEventListener("htmx:responseError", slotFailed);
document.addEventListener("htmx:sendError", slotFailed);

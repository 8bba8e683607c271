// Progressive enhancement only: every page works without this file.
// Confirmation before irreversible steps (CSP forbids inline handlers).
document.addEventListener("submit", function (ev) {
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

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

//! The 申报书 as HTML, generated from the form definition: every field kind,
//! with the enterprise's values, messages at the fields, and live character
//! counts for long texts (the count is also printed by the server, so it
//! works without JavaScript). Read-only when the application is not editable.

use std::borrow::Cow;
use std::fmt::Write;

use serde_json::Value;

use super::form_io::{at, has_option, text_at};
use crate::domain::form::{Field, FieldKind, FormDef, Issue, Report, count_chars};
use crate::domain::region;

/// HTML-escapes `s`, borrowing it when nothing needs escaping (most text).
pub fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    Cow::Owned(o)
}

struct R<'a> {
    out: String,
    answers: &'a Value,
    report: Option<&'a Report>,
    editable: bool,
}

impl R<'_> {
    fn issues_exact(&self, path: &str) -> Vec<&Issue> {
        let Some(r) = self.report else {
            return Vec::new();
        };
        r.errors
            .iter()
            .chain(&r.warnings)
            .filter(|i| i.field == path)
            .collect()
    }

    fn is_error(&self, path: &str) -> bool {
        self.report
            .is_some_and(|r| r.errors.iter().any(|i| i.field == path))
    }

    /// Messages for exactly `path`, as a block tied to the input by id.
    fn messages(&mut self, path: &str) {
        let issues: Vec<(bool, String)> = self
            .issues_exact(path)
            .into_iter()
            .map(|i| (self.is_error_issue(i), i.message.clone()))
            .collect();
        for (n, (err, msg)) in issues.into_iter().enumerate() {
            let (class, word) = if err {
                ("field-error", "错误")
            } else {
                ("field-warning", "提示")
            };
            let _ = write!(
                self.out,
                r#"<p class="{class}" id="e-{}-{n}"><span class="visually-hidden">{word}：</span>{}</p>"#,
                esc(path),
                esc(&msg)
            );
        }
    }

    fn is_error_issue(&self, i: &Issue) -> bool {
        self.report
            .is_some_and(|r| r.errors.iter().any(|e| std::ptr::eq(e, i)))
    }

    fn described(&self, path: &str) -> String {
        let n = self.issues_exact(path).len();
        if n == 0 {
            return String::new();
        }
        let ids: Vec<String> = (0..n).map(|k| format!("e-{}-{k}", esc(path))).collect();
        let inv = if self.is_error(path) {
            r#" aria-invalid="true""#
        } else {
            ""
        };
        format!(r#"{inv} aria-describedby="{}""#, ids.join(" "))
    }

    fn disabled(&self) -> &'static str {
        if self.editable { "" } else { " disabled" }
    }

    fn text_input(&mut self, path: &str, kind: &str, max: Option<usize>, extra: &str) {
        // The busiest spot of the form (about a hundred inputs): plain pushes, no formatting machinery.
        let v = text_at(self.answers, path);
        let d = self.described(path);
        let dis = self.disabled();
        let p = esc(path);
        let o = &mut self.out;
        o.push_str(r#"<input id="f-"#);
        o.push_str(&p);
        o.push_str(r#"" name=""#);
        o.push_str(&p);
        o.push_str(r#"" type=""#);
        o.push_str(kind);
        o.push_str(r#"" value=""#);
        o.push_str(&esc(&v));
        o.push('"');
        if let Some(m) = max {
            o.push_str(r#" maxlength=""#);
            o.push_str(&(m + 50).to_string());
            o.push('"');
        }
        o.push_str(&d);
        o.push_str(dis);
        o.push_str(extra);
        o.push('>');
    }

    fn yes_no(&mut self, path: &str, label: &str) {
        let v = text_at(self.answers, path);
        let dis = self.disabled();
        let d = self.described(path);
        let _ = write!(
            self.out,
            r#"<span class="radios" role="radiogroup" aria-label="{l}" id="f-{p}"{d}>"#,
            l = esc(label),
            p = esc(path)
        );
        for (val, text) in [("true", "是"), ("false", "否")] {
            let checked = if v == val { " checked" } else { "" };
            let _ = write!(
                self.out,
                r#"<label class="inline-choice"><input type="radio" name="{p}" value="{val}"{checked}{dis}> {text}</label>"#,
                p = esc(path)
            );
        }
        self.out.push_str("</span>");
    }

    fn scalar(&mut self, f: &Field, path: &str, label: &str) {
        match &f.kind {
            FieldKind::Text { max_chars } => self.text_input(path, "text", Some(*max_chars), ""),
            FieldKind::Number(spec) => {
                let mode = if spec.decimals == 0 {
                    "numeric"
                } else {
                    "decimal"
                };
                self.text_input(
                    path,
                    "text",
                    Some(32),
                    &format!(r#" inputmode="{mode}" class="num""#),
                );
                if let Some(u) = &spec.unit {
                    let _ = write!(self.out, r#"<span class="unit">{}</span>"#, esc(u));
                }
            }
            FieldKind::Date(_) => self.text_input(path, "date", None, ""),
            FieldKind::CreditCode { .. } => self.text_input(
                path,
                "text",
                Some(18),
                r#" autocomplete="off" class="code""#,
            ),
            FieldKind::Mobile => self.text_input(path, "tel", Some(20), r#" autocomplete="tel""#),
            FieldKind::Email => {
                self.text_input(path, "email", Some(254), r#" autocomplete="email""#)
            }
            FieldKind::YesNo => self.yes_no(path, label),
            FieldKind::Choice(c) => {
                let d = self.described(path);
                let dis = self.disabled();
                let _ = write!(
                    self.out,
                    r#"<select id="f-{p}" name="{p}"{d}{dis}><option value="">请选择</option>"#,
                    p = esc(path)
                );
                for o in &c.options {
                    let sel = if has_option(self.answers, path, o) {
                        " selected"
                    } else {
                        ""
                    };
                    let _ = write!(self.out, r#"<option{sel}>{}</option>"#, esc(o));
                }
                self.out.push_str("</select>");
            }
            _ => {}
        }
    }

    fn field(&mut self, f: &Field) {
        let key = f.key.as_str();
        let req = if f.required && f.is_input() {
            r#"<span class="req" aria-hidden="true">*</span>"#
        } else {
            ""
        };
        let label_text = f.label_with_unit();
        let label = esc(&label_text);
        let hint = f.hint.as_deref().map_or(String::new(), |h| {
            format!(r#"<p class="hint">{}</p>"#, esc(h))
        });
        let has_err = self.report.is_some_and(|r| {
            r.errors
                .iter()
                .any(|i| i.field == key || i.field.starts_with(&format!("{key}.")))
        });
        let cls = if has_err { " has-error" } else { "" };
        match &f.kind {
            FieldKind::Text { .. }
            | FieldKind::Number(_)
            | FieldKind::Date(_)
            | FieldKind::CreditCode { .. }
            | FieldKind::Mobile
            | FieldKind::Email => {
                let _ = write!(
                    self.out,
                    r#"<div class="field{cls}" id="w-{key}"><label for="f-{key}">{req}{label}</label>{hint}"#
                );
                self.messages(key);
                self.scalar(f, key, &f.label);
                self.out.push_str("</div>");
            }
            FieldKind::LongText {
                min_chars,
                max_chars,
            } => {
                let v = text_at(self.answers, key);
                let n = count_chars(&v);
                let limits = match min_chars {
                    Some(min) => format!("不少于{min}字，不超过{max_chars}字"),
                    None => format!("不超过{max_chars}字"),
                };
                let _ = write!(
                    self.out,
                    r#"<div class="field long{cls}" id="w-{key}"><label for="f-{key}">{req}{label}</label>{hint}"#
                );
                self.messages(key);
                let d = self.described(key);
                let dis = self.disabled();
                let rows = if min_chars.unwrap_or(0) >= 1000 {
                    24
                } else {
                    8
                };
                let _ = write!(
                    self.out,
                    r#"<textarea id="f-{key}" name="{key}" rows="{rows}" data-min="{}" data-max="{max_chars}"{d}{dis}>{}</textarea><p class="count" id="c-{key}" aria-live="polite">已输入 <strong>{n}</strong> 字（{limits}）</p></div>"#,
                    min_chars.unwrap_or(0),
                    esc(&v)
                );
            }
            FieldKind::YesNo => {
                let _ = write!(
                    self.out,
                    r#"<div class="field{cls}" id="w-{key}"><span class="label" id="l-{key}">{req}{label}</span>{hint}"#
                );
                self.messages(key);
                self.yes_no(key, &f.label);
                self.out.push_str("</div>");
            }
            FieldKind::Choice(c) => {
                let _ = write!(
                    self.out,
                    r#"<fieldset class="field{cls}" id="w-{key}"><legend>{req}{label}</legend>{hint}"#
                );
                self.messages(key);
                let d = self.described(key);
                let dis = self.disabled();
                let _ = write!(self.out, r#"<div class="choices" id="f-{key}"{d}>"#);
                for (i, o) in c.options.iter().enumerate() {
                    let checked = if has_option(self.answers, key, o) {
                        " checked"
                    } else {
                        ""
                    };
                    let _ = write!(
                        self.out,
                        r#"<label class="inline-choice" for="f-{key}-{i}"><input type="radio" id="f-{key}-{i}" name="{key}" value="{o}"{checked}{dis}> {o}</label>"#,
                        o = esc(o)
                    );
                }
                self.out.push_str("</div>");
                if c.other.is_some() {
                    let p = format!("{key}.other");
                    let _ = write!(
                        self.out,
                        r#"<div class="other"><label for="f-{p}">{}</label>"#,
                        esc(&c.other_label)
                    );
                    self.messages(&p);
                    let v = at(self.answers, &p)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let d = self.described(&p);
                    let _ = write!(
                        self.out,
                        r#"<input id="f-{p}" name="{p}" type="text" value="{}"{d}{dis}></div>"#,
                        esc(&v)
                    );
                }
                self.out.push_str("</fieldset>");
            }
            FieldKind::MultiChoice(m) => {
                let _ = write!(
                    self.out,
                    r#"<fieldset class="field{cls}" id="w-{key}"><legend>{req}{label}</legend>{hint}"#
                );
                self.messages(key);
                let dis = self.disabled();
                let _ = write!(self.out, r#"<div id="f-{key}" class="groups">"#);
                for (g, group) in m.groups.iter().enumerate() {
                    let _ = write!(
                        self.out,
                        r#"<fieldset class="group"><legend>{}</legend>"#,
                        esc(&group.label)
                    );
                    for (i, o) in group.options.iter().enumerate() {
                        let checked = if has_option(self.answers, key, o) {
                            " checked"
                        } else {
                            ""
                        };
                        let _ = write!(
                            self.out,
                            r#"<label class="inline-choice" for="f-{key}-{g}-{i}"><input type="checkbox" id="f-{key}-{g}-{i}" name="{key}" value="{o}"{checked}{dis}> {o}</label>"#,
                            o = esc(o)
                        );
                    }
                    self.out.push_str("</fieldset>");
                }
                self.out.push_str("</div></fieldset>");
            }
            FieldKind::FixedTable(t) => {
                let _ = write!(
                    self.out,
                    r#"<div class="field table-field{cls}" id="w-{key}"><p class="label" id="f-{key}">{req}{label}</p>{hint}"#
                );
                self.block_messages(key);
                let _ = write!(
                    self.out,
                    r#"<table class="data form-table"><thead><tr><th scope="col">指标</th>"#
                );
                for r in &t.rows {
                    let _ = write!(self.out, r#"<th scope="col">{}</th>"#, esc(&r.label));
                }
                self.out.push_str("</tr></thead><tbody>");
                for c in &t.columns {
                    let _ = write!(
                        self.out,
                        r#"<tr><th scope="row">{}</th>"#,
                        esc(&c.label_with_unit())
                    );
                    for r in &t.rows {
                        let p = format!("{key}.{}.{}", r.key, c.key);
                        let err = if self.is_error(&p) {
                            r#" class="cell-error""#
                        } else {
                            ""
                        };
                        let _ = write!(
                            self.out,
                            r#"<td{err}><label class="visually-hidden" for="f-{p}">{} {}</label>"#,
                            esc(&r.label),
                            esc(&c.label_with_unit())
                        );
                        self.scalar(c, &p, &c.label);
                        self.out.push_str("</td>");
                    }
                    self.out.push_str("</tr>");
                }
                self.out.push_str("</tbody></table></div>");
            }
            FieldKind::VariableTable(t) => {
                let _ = write!(
                    self.out,
                    r#"<div class="field table-field{cls}" id="w-{key}"><p class="label" id="f-{key}">{req}{label}</p>{hint}"#
                );
                self.block_messages(key);
                let filled = match at(self.answers, key) {
                    Some(Value::Array(a)) => a.len(),
                    _ => 0,
                };
                let shown = if self.editable {
                    (filled + 2).max(t.blank_rows).min(t.max_rows)
                } else {
                    filled
                };
                let _ = write!(
                    self.out,
                    r#"<table class="data form-table"><thead><tr><th scope="col">{}</th>"#,
                    esc(&t.number_label)
                );
                for c in &t.columns {
                    let _ = write!(
                        self.out,
                        r#"<th scope="col">{}</th>"#,
                        esc(&c.label_with_unit())
                    );
                }
                self.out.push_str("</tr></thead><tbody>");
                for i in 0..shown {
                    let _ = write!(self.out, r#"<tr id="f-{key}.{i}"><td>{}</td>"#, i + 1);
                    for c in &t.columns {
                        let p = format!("{key}.{i}.{}", c.key);
                        let err = if self.is_error(&p) {
                            r#" class="cell-error""#
                        } else {
                            ""
                        };
                        let _ = write!(
                            self.out,
                            r#"<td{err}><label class="visually-hidden" for="f-{p}">第{}行 {}</label>"#,
                            i + 1,
                            esc(&c.label)
                        );
                        self.scalar(c, &p, &c.label);
                        self.out.push_str("</td>");
                    }
                    self.out.push_str("</tr>");
                }
                self.out.push_str("</tbody></table>");
                if self.editable {
                    let _ = write!(
                        self.out,
                        r#"<p class="hint">需要更多行时，保存草稿后会自动增加空行（最多{}行）；整行留空的不会保存。</p>"#,
                        t.max_rows
                    );
                }
                self.out.push_str("</div>");
            }
            FieldKind::CloudServices(cs) => {
                let _ = write!(
                    self.out,
                    r#"<div class="field table-field{cls}" id="w-{key}"><p class="label" id="f-{key}">{req}{label}</p>{hint}"#
                );
                self.block_messages(key);
                let _ = write!(
                    self.out,
                    r#"<table class="data form-table"><thead><tr><th scope="col">服务类型</th><th scope="col">{}</th>"#,
                    esc(&cs.used_label)
                );
                for c in &cs.columns {
                    let _ = write!(self.out, r#"<th scope="col">{}</th>"#, esc(&c.label));
                }
                self.out.push_str("</tr></thead><tbody>");
                let dis = self.disabled();
                for s in &cs.services {
                    let up = format!("{key}.{}.used", s.key);
                    let used = at(self.answers, &up)
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    let checked = if used { " checked" } else { "" };
                    let _ = write!(
                        self.out,
                        r#"<tr><th scope="row"><label for="f-{up}">{l}</label></th><td><input type="checkbox" id="f-{up}" name="{up}" value="true"{checked}{dis}><label class="visually-hidden" for="f-{up}">使用{l}</label></td>"#,
                        l = esc(&s.label)
                    );
                    for c in &cs.columns {
                        let p = format!("{key}.{}.{}", s.key, c.key);
                        let err = if self.is_error(&p) {
                            r#" class="cell-error""#
                        } else {
                            ""
                        };
                        let _ = write!(
                            self.out,
                            r#"<td{err}><label class="visually-hidden" for="f-{p}">{} {}</label>"#,
                            esc(&s.label),
                            esc(&c.label)
                        );
                        self.scalar(c, &p, &format!("{} {}", s.label, c.label));
                        self.out.push_str("</td>");
                    }
                    self.out.push_str("</tr>");
                }
                self.out.push_str("</tbody></table></div>");
            }
            FieldKind::Region => {
                let p = format!("{key}.county");
                let _ = write!(
                    self.out,
                    r#"<div class="field{cls}" id="w-{key}"><label for="f-{p}">{req}{label}（市 / 县区）</label>{hint}"#
                );
                self.block_messages(key);
                let cur = text_at(self.answers, &p);
                let d = self.described(&p);
                let dis = self.disabled();
                let _ = write!(
                    self.out,
                    r#"<select id="f-{p}" name="{p}"{d}{dis}><option value="">请选择</option>"#
                );
                self.out.push_str(&region_options(&cur));
                self.out.push_str("</select></div>");
            }
            FieldKind::Acknowledgements { items, signature } => {
                let _ = write!(
                    self.out,
                    r#"<fieldset class="field ack{cls}" id="w-{key}"><legend>{req}{label}</legend>{hint}"#
                );
                let _ = write!(self.out, r#"<div id="f-{key}"></div>"#);
                self.block_messages(key);
                let dis = self.disabled();
                for it in items {
                    let p = format!("{key}.{}", it.key);
                    let on = at(self.answers, &p)
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    let checked = if on { " checked" } else { "" };
                    let _ = write!(
                        self.out,
                        r#"<label class="ack-item" for="f-{p}"><input type="checkbox" id="f-{p}" name="{p}" value="true"{checked}{dis}> <span>{}</span></label>"#,
                        esc(&it.text)
                    );
                }
                if let Some(s) = signature {
                    let _ = write!(self.out, r#"<p class="signature">{}</p>"#, esc(s));
                }
                self.out.push_str("</fieldset>");
            }
            FieldKind::Display { text, signature } => {
                let _ = write!(
                    self.out,
                    r#"<div class="field display" id="w-{key}"><p class="label">{label}</p><p class="hint">{}</p>"#,
                    esc(text)
                );
                if let Some(s) = signature {
                    let _ = write!(self.out, r#"<p class="signature">{}</p>"#, esc(s));
                }
                self.out.push_str("</div>");
            }
        }
    }

    /// Every message under a compound field, listed at its top.
    fn block_messages(&mut self, key: &str) {
        let Some(r) = self.report else { return };
        let prefix = format!("{key}.");
        let mut items = String::new();
        // A cell's input names its messages here (`described`): each gets
        // the id `e-{path}-{n}`, n counted per path as `described` counts.
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (err, i) in r
            .errors
            .iter()
            .map(|i| (true, i))
            .chain(r.warnings.iter().map(|i| (false, i)))
        {
            if i.field == key || i.field.starts_with(&prefix) {
                let (class, word) = if err {
                    ("field-error", "错误")
                } else {
                    ("field-warning", "提示")
                };
                let where_ = i
                    .label
                    .rsplit(" › ")
                    .take(2)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join(" › ");
                let id = if i.field == key {
                    String::new()
                } else {
                    let n = seen.entry(i.field.as_str()).or_default();
                    *n += 1;
                    format!(r#" id="e-{}-{}""#, esc(&i.field), *n - 1)
                };
                let _ = write!(
                    items,
                    r#"<li class="{class}"{id}><span class="visually-hidden">{word}：</span>{}：{}</li>"#,
                    esc(&where_),
                    esc(&i.message)
                );
            }
        }
        if !items.is_empty() {
            let _ = write!(self.out, r#"<ul class="block-messages">{items}</ul>"#);
        }
    }
}

/// Every 市/县 of Hubei as `<optgroup>`s, built once.
static REGION_OPTIONS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut o = String::with_capacity(8 * 1024);
    for c in region::cities() {
        let _ = write!(o, r#"<optgroup label="{}">"#, esc(c.name));
        for k in &c.counties {
            let text = if k.code == c.code {
                c.name.to_string()
            } else {
                format!("{} {}", c.name, k.name)
            };
            let _ = write!(o, r#"<option value="{}">{}</option>"#, k.code, esc(&text));
        }
        o.push_str("</optgroup>");
    }
    o
});

/// The region options with `selected` (a county code) marked.
pub fn region_options(selected: &str) -> String {
    let all = REGION_OPTIONS.as_str();
    if selected.is_empty() || !selected.bytes().all(|b| b.is_ascii_digit()) {
        return all.to_string();
    }
    let needle = format!(r#"value="{selected}""#);
    match all.find(&needle) {
        Some(i) => {
            let at = i + needle.len();
            let mut o = String::with_capacity(all.len() + 9);
            o.push_str(&all[..at]);
            o.push_str(" selected");
            o.push_str(&all[at..]);
            o
        }
        None => all.to_string(),
    }
}

/// Rendered forms by (application, version, editable): a version's HTML never
/// changes, so any process may keep it. Bounded; the oldest entries go first.
static RENDERED: std::sync::LazyLock<std::sync::Mutex<RenderCache>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(RenderCache::default()));

#[derive(Default)]
struct RenderCache {
    map: std::collections::HashMap<(String, i64, bool), std::sync::Arc<str>>,
    order: std::collections::VecDeque<(String, i64, bool)>,
}

const RENDER_CACHE_ENTRIES: usize = 256;

/// [`render`] without messages, for a stored version of an application.
pub fn render_version(
    form: &FormDef,
    app_id: &str,
    version: i64,
    answers: &Value,
    editable: bool,
) -> std::sync::Arc<str> {
    if let Some(html) = rendered(app_id, version, editable) {
        return html;
    }
    let key = (app_id.to_string(), version, editable);
    let html: std::sync::Arc<str> = render(form, answers, None, editable).into();
    if let Ok(mut cache) = RENDERED.lock()
        && cache.map.insert(key.clone(), html.clone()).is_none()
    {
        cache.order.push_back(key);
        while cache.order.len() > RENDER_CACHE_ENTRIES {
            if let Some(old) = cache.order.pop_front() {
                cache.map.remove(&old);
            }
        }
    }
    html
}

/// The HTML of a stored version if it has been rendered already.
pub fn rendered(app_id: &str, version: i64, editable: bool) -> Option<std::sync::Arc<str>> {
    let cache = RENDERED.lock().ok()?;
    cache
        .map
        .get(&(app_id.to_string(), version, editable))
        .cloned()
}

/// The form's sections (not the attachment slots) as HTML.
pub fn render(form: &FormDef, answers: &Value, report: Option<&Report>, editable: bool) -> String {
    let mut r = R {
        out: String::with_capacity(64 * 1024),
        answers,
        report,
        editable,
    };
    for s in &form.sections {
        if s.fields.is_empty() {
            continue;
        }
        let _ = write!(
            r.out,
            r#"<section class="form-section" id="s-{}"><h2>{}、{}</h2>"#,
            esc(&s.key),
            esc(&s.number),
            esc(&s.title)
        );
        if let Some(h) = &s.hint {
            let _ = write!(r.out, r#"<p class="hint">{}</p>"#, esc(h));
        }
        let mut group: Option<&str> = None;
        for f in &s.fields {
            if f.group.as_deref() != group {
                if group.is_some() {
                    r.out.push_str("</div>");
                }
                group = f.group.as_deref();
                if let Some(g) = group {
                    // A group of one field named like the group needs no heading of its own.
                    let alone = s
                        .fields
                        .iter()
                        .filter(|x| x.group.as_deref() == Some(g))
                        .count()
                        == 1;
                    if alone && f.label == g {
                        r.out.push_str(r#"<div class="form-group">"#);
                    } else {
                        let _ = write!(r.out, r#"<div class="form-group"><h3>{}</h3>"#, esc(g));
                    }
                }
            }
            r.field(f);
        }
        if group.is_some() {
            r.out.push_str("</div>");
        }
        r.out.push_str("</section>");
    }
    r.out
}

/// The form's table of contents, kept in view: each section with what is
/// left in it (errors of `report`, attachment slots as `slot-…`).
pub fn section_nav(form: &FormDef, report: &Report) -> String {
    let section_of = |field: &str| -> Option<usize> {
        if let Some(slot) = field.strip_prefix("slot-") {
            let slot = slot.split('.').next().unwrap_or(slot);
            return form
                .sections
                .iter()
                .position(|s| s.attachments.iter().any(|a| a.key == slot));
        }
        let head = field.split('.').next().unwrap_or(field);
        form.sections
            .iter()
            .position(|s| s.fields.iter().any(|f| f.key == head))
    };
    let mut left = vec![0usize; form.sections.len()];
    for e in &report.errors {
        if let Some(i) = section_of(&e.field) {
            left[i] += 1;
        }
    }
    let mut out = String::from(r#"<nav class="form-nav" aria-label="申报书目录"><ol>"#);
    for (s, n) in form.sections.iter().zip(left) {
        let anchor = if s.fields.is_empty() {
            "attachments".to_string()
        } else {
            format!("s-{}", esc(&s.key))
        };
        let state = if n == 0 {
            r#"<span class="nav-done">已完成</span>"#.to_string()
        } else {
            format!(r#"<span class="nav-left">还有{n}处</span>"#)
        };
        let _ = write!(
            out,
            r##"<li><a href="#{anchor}">{}、{}</a> {state}</li>"##,
            esc(&s.number),
            esc(&s.title)
        );
    }
    out.push_str("</ol></nav>");
    out
}

/// "label：message", without saying the label twice when the message already names it.
fn summary_line(i: &Issue) -> String {
    let leaf = i.label.rsplit(" › ").next().unwrap_or(&i.label);
    if i.message.contains(leaf) {
        i.message.clone()
    } else {
        format!("{}：{}", i.label, i.message)
    }
}

/// The summary of problems at the top of the page, each linking to its field.
pub fn summary(report: &Report, base: &str) -> String {
    let mut out = String::new();
    if !report.errors.is_empty() {
        let _ = write!(
            out,
            r#"<div class="error-summary" role="alert" tabindex="-1" id="error-summary"><h2>还有{}处需要修改</h2><ul>"#,
            report.errors.len()
        );
        for i in &report.errors {
            let _ = write!(
                out,
                r#"<li><a href="{base}#f-{}">{}</a></li>"#,
                esc(&i.field),
                esc(&summary_line(i))
            );
        }
        out.push_str("</ul></div>");
    }
    if !report.warnings.is_empty() {
        let _ = write!(
            out,
            r#"<div class="warning-summary" role="status"><h2>请核对以下{}处（不影响提交）</h2><ul>"#,
            report.warnings.len()
        );
        for i in &report.warnings {
            let _ = write!(
                out,
                r#"<li><a href="{base}#f-{}">{}</a></li>"#,
                esc(&i.field),
                esc(&summary_line(i))
            );
        }
        out.push_str("</ul></div>");
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::domain::form::{ProgramDef, sample_answers_on, validate};

    /// Every id an input names in `aria-describedby` is on exactly one
    /// element, table cells included.
    #[test]
    fn every_described_by_id_exists_once() {
        let def = ProgramDef::builtin();
        let today = jiff::civil::date(2021, 9, 10);
        let mut a = sample_answers_on(3, today);
        a["finance"]["2020"]["profit"] = "十万".into();
        a["finance"]["2019"]["total_assets"] = "-1".into();
        a["honours"][0]["date"] = "2001-01-01".into();
        a["address"] = "".into();
        let report = validate(&def.form, &a, today);
        assert!(report.errors.len() >= 4, "{:?}", report.errors);
        let html = super::render(&def.form, &a, Some(&report), true);
        let mut described = 0;
        for part in html.split(r#"aria-describedby=""#).skip(1) {
            let ids = &part[..part.find('"').expect("closing quote")];
            for id in ids.split(' ') {
                described += 1;
                let n = html.matches(&format!(r#"id="{id}""#)).count();
                assert_eq!(n, 1, "{id} is on {n} elements");
            }
        }
        assert!(described >= 4, "{described}");
    }
}

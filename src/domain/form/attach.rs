//! Attachment slots: which required uploads are missing. The files themselves
//! (type sniffing, size) are checked by the file store.

use serde_json::Value;

use super::definition::FormDef;
use super::text::is_filled;
use super::validate::Issue;

/// The messages for required attachments not uploaded yet.
///
/// `uploaded` lists (upload key, number of files) — the slot key, or
/// `{slot}.{year}` for per-year slots (see [`super::AttachmentSlot::upload_keys`]);
/// repeated keys add up. `answers` decides conditional slots
/// (`required_if_filled`: 荣誉证明 only when honours are listed).
pub fn missing_attachments<K: AsRef<str>>(
    form: &FormDef,
    answers: &Value,
    uploaded: &[(K, usize)],
) -> Vec<Issue> {
    let mut out = Vec::new();
    for slot in form.attachments() {
        let because = slot
            .required_if_filled
            .as_deref()
            .filter(|k| is_filled(answers.get(*k)))
            .and_then(|k| form.field(k));
        if !slot.required && because.is_none() {
            continue;
        }
        for (key, label) in slot.upload_keys() {
            let have: usize = uploaded
                .iter()
                .filter(|(k, _)| k.as_ref() == key)
                .map(|(_, n)| *n)
                .sum();
            if have >= slot.min_count {
                continue;
            }
            let mut message = match because {
                Some(f) if !slot.required => format!("已填写{}，请上传{label}", f.label),
                _ => format!("请上传{label}"),
            };
            if slot.min_count > 1 {
                message.push_str(&format!("（至少{}份，已上传{have}份）", slot.min_count));
            }
            out.push(Issue {
                field: key,
                label,
                message,
            });
        }
    }
    out
}

//! The 申报书 (附件1) as a Word document: cover page, 一、申请表 (see
//! [`super::apply_table`]), sections 二 to 五, page numbers and the
//! identification footer on every page.

use docx_rs::{AlignmentType, Paragraph, SpecialIndentType};

use super::values;
use super::word::{self, BODY, HEADING, Style};
use super::{AppDoc, apply_table};
use crate::domain::form::{FieldKind, ProgramDef, Section};

const TITLE: Style = Style::new(HEADING, word::SIZE_2).align(AlignmentType::Center);
const SECTION: Style = Style::new(HEADING, word::SIZE_3).space(240, 120);
const SUBHEAD: Style = Style::new(BODY, word::SIZE_4)
    .bold()
    .line(500)
    .space(120, 0);
const HINT: Style = Style::new(BODY, word::SIZE_S4).line(400);
const TEXT: Style = Style::new(BODY, word::SIZE_4).line(500).indent(200);
const COVER: Style = Style::new(BODY, word::SIZE_3).line(700);

/// The 申报书 for `doc` as .docx bytes (a blank template when `doc` is
/// [`AppDoc::blank`]).
pub fn application_docx(def: &ProgramDef, doc: &AppDoc) -> Vec<u8> {
    let mut d = word::document()
        .page_size(word::A4_W, word::A4_H)
        .page_margin(word::margins(1701, 1417, 1417, 1417))
        .footer(word::footer(&doc.footer_text()));
    if doc.draft {
        d = d.header(word::draft_header());
    }
    for p in cover(def, doc) {
        d = d.add_paragraph(p);
    }
    for (i, s) in def.form.sections.iter().enumerate() {
        // Each section starts a page (一 after the cover, 二 after the table).
        let head =
            word::para(&format!("{}、{}", s.number, s.title), SECTION).page_break_before(true);
        d = d.add_paragraph(head);
        if let Some(h) = &s.hint {
            d = d.add_paragraph(word::para(&format!("（{h}）"), HINT));
        }
        if i == 0 {
            d = d.add_table(apply_table::table(s, doc));
            continue;
        }
        for p in section_text(s, doc) {
            d = d.add_paragraph(p);
        }
    }
    word::pack(d)
}

/// The blank 申报书 template (the same generator with empty answers).
pub fn blank_docx(def: &ProgramDef) -> Vec<u8> {
    application_docx(def, &AppDoc::blank())
}

fn blank_lines(n: usize, st: Style) -> impl Iterator<Item = Paragraph> {
    (0..n).map(move |_| word::para("", st))
}

fn cover(def: &ProgramDef, doc: &AppDoc) -> Vec<Paragraph> {
    let f = &def.form;
    let mut ps: Vec<Paragraph> = blank_lines(3, COVER).collect();
    ps.push(word::para(&f.title, TITLE.line(900)));
    ps.extend(blank_lines(4, COVER));
    for stamp in &f.cover_stamps {
        // The applicant's line carries its name; the others stay blank for the stamp.
        let filled = if stamp.starts_with("申报单位") {
            doc.enterprise_name.as_str()
        } else {
            ""
        };
        let head = format!("{stamp}：");
        // A long name wraps under itself, not under the label.
        let hang = word::text_twips(&head, word::SIZE_3) as i32;
        let p = Paragraph::new()
            .align(AlignmentType::Left)
            .indent(
                Some(1200 + hang),
                Some(SpecialIndentType::Hanging(hang)),
                None,
                None,
            )
            .line_spacing(
                docx_rs::LineSpacing::new()
                    .line_rule(docx_rs::LineSpacingType::Exact)
                    .line(900),
            )
            .add_run(word::run(&head, BODY, word::SIZE_3))
            .add_run(
                word::run(
                    &if filled.is_empty() {
                        "　".repeat(14)
                    } else {
                        format!("{filled}　")
                    },
                    BODY,
                    word::SIZE_3,
                )
                .underline("single"),
            );
        ps.push(p);
    }
    ps.extend(blank_lines(4, COVER));
    ps.push(word::para(&f.made_by, COVER.align(AlignmentType::Center)));
    ps
}

/// Sections 二 to 五: each field's heading, its guidance and the enterprise's
/// text; for 五 the attachment slots and the files actually uploaded.
fn section_text(s: &Section, doc: &AppDoc) -> Vec<Paragraph> {
    let blank = doc.application_id.is_empty();
    let mut ps = Vec::new();
    for f in s.fields.iter().filter(|f| f.print) {
        ps.push(word::para(&f.label, SUBHEAD));
        if let Some(h) = &f.hint {
            ps.push(word::para(&format!("（{h}）"), HINT.indent(200)));
        }
        let v = doc.answers.get(&f.key);
        let text = match &f.kind {
            FieldKind::LongText { .. } | FieldKind::Text { .. } => values::text(v),
            _ => values::scalar(f, v),
        };
        let body = word::text_block(&text, TEXT);
        if body.is_empty() {
            ps.extend(blank_lines(if blank { 6 } else { 1 }, TEXT));
        } else {
            ps.extend(body);
        }
    }
    for (i, slot) in s.attachments.iter().enumerate() {
        let mut line = format!("{}、{}", i + 1, slot.label);
        if blank {
            // The template says what to attach; a filled form lists what was.
            if let Some(h) = &slot.hint {
                line.push_str(&format!("（{h}）"));
            }
            ps.push(word::para(&line, TEXT.indent(0).space(120, 0)));
            continue;
        }
        ps.push(word::para(&line, TEXT.indent(0).space(120, 0)));
        let keys = slot.upload_keys();
        let mut any = false;
        for (key, key_label) in &keys {
            for a in doc.attachments.iter().filter(|a| a.slot == *key) {
                any = true;
                let prefix = if keys.len() > 1 {
                    let part = key_label.trim_start_matches(slot.label.as_str());
                    format!("{}：", part.trim_start_matches('（').trim_end_matches('）'))
                } else {
                    String::new()
                };
                let sha = a.sha256.get(..12).unwrap_or(&a.sha256);
                let line = format!(
                    "{prefix}{}（{}，SHA-256 {sha}）",
                    a.file_name,
                    values::size_text(a.size)
                );
                ps.push(listed(&line));
            }
        }
        if !any {
            ps.push(listed("（未上传）"));
        }
    }
    ps
}

/// A line under an attachment slot, indented as a block.
fn listed(text: &str) -> Paragraph {
    let st = TEXT.indent(0);
    word::para(text, st).indent(Some(2 * 10 * st.size as i32), None, None, None)
}

//! Loading a program directory (`program.toml` + `form.toml`, and an optional
//! `notice.md`) into a checked [`ProgramDef`], with errors that name the file,
//! the line and the reason.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::de::DeserializeOwned;
use toml::Spanned;

use super::definition::{
    Batch, Notice, NoticeBlock, NoticeContact, Program, ProgramDef, Sources, Statement,
};
use super::raw::{Problems, RawForm, RawNotice, RawProgram, RawStatement};

pub const PROGRAM_FILE: &str = "program.toml";
pub const FORM_FILE: &str = "form.toml";
/// The batch's notice (optional): a TOML head between `+++` lines, then the text.
pub const NOTICE_FILE: &str = "notice.md";

const BUILTIN_PROGRAM: &str =
    include_str!("../../../programs/hubei-cloud-benchmark-2021/program.toml");
const BUILTIN_FORM: &str = include_str!("../../../programs/hubei-cloud-benchmark-2021/form.toml");
const BUILTIN_NOTICE: &str = include_str!("../../../programs/hubei-cloud-benchmark-2021/notice.md");

static BUILTIN: LazyLock<ProgramDef> = LazyLock::new(|| {
    ProgramDef::from_sources_with_notice(BUILTIN_PROGRAM, BUILTIN_FORM, Some(BUILTIN_NOTICE))
        .unwrap_or_else(|e| panic!("the shipped program definition is broken:\n{e}"))
});

/// One problem in a definition file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefProblem {
    /// File name, e.g. `form.toml`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// Chinese reason.
    pub reason: String,
}

impl fmt::Display for DefProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Why a definition could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DefError {
    #[error("无法读取 {}：{source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Every problem found, in file and line order; never empty.
    #[error("{}", lines(.0))]
    Invalid(Vec<DefProblem>),
}

fn lines(problems: &[DefProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl DefError {
    /// The problems of an invalid definition (empty for I/O errors).
    pub fn problems(&self) -> &[DefProblem] {
        match self {
            DefError::Invalid(p) => p,
            DefError::Io { .. } => &[],
        }
    }
}

impl ProgramDef {
    /// Reads and checks `program.toml` and `form.toml` in `dir`, and
    /// `notice.md` when there is one.
    pub fn load(dir: &Path) -> Result<ProgramDef, DefError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| DefError::Io { path, source })
        };
        let program = read(PROGRAM_FILE)?;
        let form = read(FORM_FILE)?;
        let notice = match read(NOTICE_FILE) {
            Ok(text) => Some(text),
            Err(DefError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                None
            }
            Err(e) => return Err(e),
        };
        Self::from_sources_with_notice(&program, &form, notice.as_deref())
    }

    /// The shipped 2021 program (第二批湖北省上云标杆企业), embedded in the binary.
    pub fn builtin() -> &'static ProgramDef {
        &BUILTIN
    }

    /// Checks a definition given as the texts of `program.toml` and `form.toml`
    /// (no notice).
    pub fn from_sources(program_toml: &str, form_toml: &str) -> Result<ProgramDef, DefError> {
        Self::from_sources_with_notice(program_toml, form_toml, None)
    }

    /// Checks a definition given as the texts of its files, `notice.md` if any.
    pub fn from_sources_with_notice(
        program_toml: &str,
        form_toml: &str,
        notice_md: Option<&str>,
    ) -> Result<ProgramDef, DefError> {
        let mut pp = Problems::new(PROGRAM_FILE, program_toml);
        let program = parse::<RawProgram>(&mut pp).map(|raw| program(raw, &mut pp));
        let Some(program) = program else {
            let mut problems = finish(pp);
            let mut fp = Problems::new(FORM_FILE, form_toml);
            parse::<RawForm>(&mut fp);
            problems.extend(finish(fp));
            return Err(DefError::Invalid(problems));
        };
        let original_form = form_toml;
        let form_toml = with_years(form_toml, program.batch.reference_date.year());
        let mut fp = Problems::new(FORM_FILE, &form_toml);
        let raw_form = parse::<RawForm>(&mut fp);
        let mut problems = finish(pp);
        let Some(raw_form) = raw_form else {
            problems.extend(finish(fp));
            return Err(DefError::Invalid(problems));
        };
        let sources = [
            ("commitments", program.commitments.as_slice()),
            ("declarations", program.declarations.as_slice()),
        ];
        let mut form = super::check::form(raw_form, &sources, &mut fp);
        form.reference_date = program.batch.reference_date;
        problems.extend(finish(fp));
        let notice = notice_md.and_then(|src| {
            let mut np = Problems::new(NOTICE_FILE, src);
            let n = notice(&mut np);
            problems.extend(finish(np));
            n
        });
        if problems.is_empty() {
            Ok(ProgramDef {
                program,
                form,
                notice,
                sources: Sources {
                    program_toml: program_toml.to_string(),
                    form_toml: original_form.to_string(),
                    notice_md: notice_md.map(str::to_string),
                },
            })
        } else {
            Err(DefError::Invalid(problems))
        }
    }
}

/// `form.toml` with each `{Y-n}` (n = 1..9) written as the year n years
/// before the reference year: the 2021 batch's `{Y-3}年` is 2018年, and the
/// next batch's form needs no edit. Lines keep their numbers (a problem's
/// column on such a line may move by a few characters).
fn with_years(form_toml: &str, reference_year: i16) -> String {
    let mut out = form_toml.to_string();
    for n in 1..=9 {
        out = out.replace(
            &format!("{{Y-{n}}}"),
            &(i32::from(reference_year) - n).to_string(),
        );
    }
    out
}

fn finish(p: Problems<'_>) -> Vec<DefProblem> {
    let mut found = p.found;
    found.sort_by_key(|(line, _)| *line);
    found
        .into_iter()
        .map(|(line, reason)| DefProblem {
            file: p.file.to_string(),
            line,
            reason,
        })
        .collect()
}

fn parse<T: DeserializeOwned>(p: &mut Problems<'_>) -> Option<T> {
    match toml::from_str::<T>(p.src) {
        Ok(v) => Some(v),
        Err(e) => {
            let at = e.span().map_or(0, |s| s.start);
            let msg = e.message().trim().to_string();
            p.at_offset(at, format!("TOML 格式错误：{msg}"));
            None
        }
    }
}

fn program(raw: RawProgram, p: &mut Problems<'_>) -> Program {
    let key = raw.key.get_ref();
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        p.at(
            &raw.key,
            format!("项目键“{key}”只能由小写字母、数字和连字符组成"),
        );
    }
    let b = raw.batch;
    let notice_date = b.notice_date.get_ref().parse::<Date>().unwrap_or_else(|_| {
        p.at(
            &b.notice_date,
            format!("发文日期“{}”应为 YYYY-MM-DD", b.notice_date.get_ref()),
        );
        Date::constant(2000, 1, 1)
    });
    let reference_date = match &b.reference_date {
        None => notice_date,
        Some(r) => r.get_ref().parse::<Date>().unwrap_or_else(|_| {
            p.at(r, format!("基准日期“{}”应为 YYYY-MM-DD", r.get_ref()));
            notice_date
        }),
    };
    let enterprise_deadline = timestamp(&b.enterprise_deadline, "企业申报截止时间", p);
    let recommend_deadline = timestamp(&b.recommend_deadline, "市州推荐截止时间", p);
    if let (Some(e), Some(r)) = (enterprise_deadline, recommend_deadline)
        && e > r
    {
        p.at(
            &b.enterprise_deadline,
            "企业申报截止时间晚于市州推荐截止时间",
        );
    }
    let quota = match u32::try_from(*b.quota.get_ref()) {
        Ok(q) if q > 0 => q,
        _ => {
            p.at(&b.quota, "遴选名额（quota）应为正整数");
            0
        }
    };
    if raw.commitments.is_empty() {
        p.at(&raw.key, "缺少申报单位承诺（commitments）");
    }
    Program {
        key: key.clone(),
        name: raw.name,
        issuer: raw.issuer,
        office: raw.office,
        batch: Batch {
            name: b.name,
            doc_number: b.doc_number,
            notice_title: b.notice_title,
            notice_date,
            reference_date,
            quota,
            enterprise_deadline: enterprise_deadline.unwrap_or(Timestamp::UNIX_EPOCH),
            recommend_deadline: recommend_deadline.unwrap_or(Timestamp::UNIX_EPOCH),
        },
        commitments: statements(&raw.commitments, p),
        declarations: statements(&raw.declarations, p),
        review_criteria: review_criteria(&raw.review_criteria, p),
        messages: messages(raw.messages.as_ref(), p),
    }
}

/// The message texts: every kind, no unknown kind, only the kind's variables.
/// A program without `[messages]` (or without an account-security kind)
/// uses the shipped texts.
fn messages(
    raw: Option<&Spanned<std::collections::BTreeMap<String, Spanned<super::raw::RawMessage>>>>,
    p: &mut Problems<'_>,
) -> crate::domain::notify::Templates {
    use crate::domain::notify::{Kind, MessageText, Template, Templates};
    let Some(raw) = raw else {
        return BUILTIN.program.messages.clone();
    };
    let mut out = Templates::default();
    for (code, m) in raw.get_ref() {
        let Some(kind) = Kind::from_code(code) else {
            p.at(m, format!("未知的消息类型“{code}”"));
            continue;
        };
        let mut text = |t: &Spanned<String>, what: &str| {
            if t.get_ref().trim().is_empty() {
                p.at(t, format!("消息“{code}”的{what}不能为空"));
                return None;
            }
            match Template::parse(t.get_ref(), kind.vars()) {
                Ok(tpl) => Some(tpl),
                Err(e) => {
                    p.at(t, format!("消息“{code}”的{what}：{e}"));
                    None
                }
            }
        };
        let subject = text(&m.get_ref().subject, "标题");
        let body = text(&m.get_ref().body, "正文");
        if let (Some(subject), Some(body)) = (subject, body) {
            out.0.insert(kind, MessageText { subject, body });
        }
    }
    for kind in Kind::ALL {
        if raw.get_ref().contains_key(kind.code()) {
            continue;
        }
        // An account-security text left out (a batch definition stored
        // before the kind existed) is the shipped one.
        match BUILTIN.program.messages.0.get(&kind) {
            Some(text) if kind.is_account_security() => {
                out.0.insert(kind, text.clone());
            }
            _ => p.at(
                raw,
                format!("缺少消息“{}”（[messages.{}]）", kind.label(), kind.code()),
            ),
        }
    }
    out
}

/// The 评价标准: unique keys, names given, positive maxima and weights.
fn review_criteria(
    raw: &[Spanned<crate::domain::scoring::Criterion>],
    p: &mut Problems<'_>,
) -> Vec<crate::domain::scoring::Criterion> {
    let mut keys = std::collections::HashSet::new();
    for c in raw {
        let v = c.get_ref();
        if v.key.is_empty() || !keys.insert(v.key.clone()) {
            p.at(c, format!("评价标准的键“{}”为空或重复", v.key));
        }
        if v.name.trim().is_empty() {
            p.at(c, "评价标准缺少名称（name）");
        }
        let in_range = v.max > 0.0 && v.max <= 1000.0 && v.weight > 0.0 && v.weight <= 100.0;
        if !in_range {
            p.at(c, format!("评价标准“{}”的满分或权重应为正数", v.name));
        }
    }
    raw.iter().map(|c| c.get_ref().clone()).collect()
}

fn timestamp(v: &Spanned<String>, what: &str, p: &mut Problems<'_>) -> Option<Timestamp> {
    let t = v.get_ref().parse::<Timestamp>().ok();
    if t.is_none() {
        p.at(
            v,
            format!(
                "{what}“{}”应为带时区的时间，如 2021-09-20T23:59:59+08:00",
                v.get_ref()
            ),
        );
    }
    t
}

/// Checks a list of statements: keys well-formed and unique, texts non-empty.
pub(super) fn statements(list: &[RawStatement], p: &mut Problems<'_>) -> Vec<Statement> {
    let mut seen = HashSet::new();
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            super::check::key_ok(p, &s.key, "条目");
            if !seen.insert(s.key.get_ref().clone()) {
                p.at(&s.key, format!("条目 {} 重复", s.key.get_ref()));
            }
            if s.text.get_ref().trim().is_empty() {
                p.at(&s.text, format!("条目 {} 的内容不能为空", s.key.get_ref()));
            }
            Statement {
                key: s.key.get_ref().clone(),
                label: s.label.clone().unwrap_or_else(|| (i + 1).to_string()),
                text: s.text.get_ref().trim().to_string(),
                source: s.source.clone(),
            }
        })
        .collect()
}

/// Reads `notice.md`: the TOML head between `+++` lines, then the text, one
/// block per non-blank line (`## ` heading, `> ` closing line, else a
/// paragraph). Every contact in the head must appear in the text as written.
fn notice(p: &mut Problems<'_>) -> Option<Notice> {
    let src = p.src;
    let head_start = src.strip_prefix("+++").and_then(|r| {
        let r = r.trim_start_matches([' ', '\t', '\r']);
        r.strip_prefix('\n').map(|rest| src.len() - rest.len())
    });
    let Some(head_start) = head_start else {
        p.at_offset(
            0,
            "通知文件应以 +++ 行开头，其后为 TOML 格式的发文单位和联系方式",
        );
        return None;
    };
    let Some(head_len) = src[head_start..]
        .split_inclusive('\n')
        .scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            Some((start, line))
        })
        .find(|(_, line)| line.trim_end() == "+++")
        .map(|(start, _)| start)
    else {
        p.at_offset(0, "通知文件开头的 TOML 部分缺少结束的 +++ 行");
        return None;
    };
    let head = &src[head_start..head_start + head_len];
    let body_start =
        head_start + head_len + src[head_start + head_len..].find('\n').map_or(0, |i| i + 1);
    let raw: RawNotice = match toml::from_str(head) {
        Ok(v) => v,
        Err(e) => {
            let at = head_start + e.span().map_or(0, |s| s.start);
            p.at_offset(at, format!("TOML 格式错误：{}", e.message().trim()));
            return None;
        }
    };
    let body = &src[body_start.min(src.len())..];
    let blocks: Vec<NoticeBlock> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            if let Some(h) = l.strip_prefix("## ") {
                NoticeBlock::Heading(h.trim().to_string())
            } else if let Some(c) = l.strip_prefix('>') {
                NoticeBlock::Closing(c.trim().to_string())
            } else {
                NoticeBlock::Paragraph(l.to_string())
            }
        })
        .collect();
    if !blocks
        .iter()
        .any(|b| matches!(b, NoticeBlock::Paragraph(_)))
    {
        p.at_offset(body_start, "通知正文为空");
    }
    let mut named = |what: &str, v: &Spanned<String>| {
        let (value, at) = (v.get_ref(), head_start + v.span().start);
        if value.trim().is_empty() {
            p.at_offset(at, format!("{what}不能为空"));
        } else if !body.contains(value.as_str()) {
            p.at_offset(at, format!("{what}“{value}”未出现在通知正文中"));
        }
    };
    for c in &raw.contacts {
        named("联系人姓名", &c.name);
        named("联系电话", &c.phone);
    }
    named("电子邮箱", &raw.email);
    named("邮寄地址", &raw.address);
    if raw.issuer.get_ref().trim().is_empty() {
        p.at_offset(
            head_start + raw.issuer.span().start,
            "发文单位（issuer）不能为空",
        );
    }
    if raw.contacts.is_empty() {
        p.at_offset(head_start, "缺少联系人（contacts）");
    }
    Some(Notice {
        issuer: raw.issuer.into_inner(),
        contacts: raw
            .contacts
            .into_iter()
            .map(|c| NoticeContact {
                name: c.name.into_inner(),
                phone: c.phone.into_inner(),
            })
            .collect(),
        email: raw.email.into_inner(),
        address: raw.address.into_inner(),
        blocks,
    })
}

#[cfg(test)]
mod notice_tests {
    use super::*;

    const PROGRAM: &str = BUILTIN_PROGRAM;
    const FORM: &str = BUILTIN_FORM;

    #[test]
    fn shipped_notice_is_loaded_with_the_program() {
        let n = ProgramDef::builtin().notice.as_ref().expect("notice");
        assert_eq!(n.issuer, "湖北省经济和信息化厅办公室");
        assert_eq!(n.contacts.len(), 2);
        let headings: Vec<&str> = n
            .blocks
            .iter()
            .filter_map(|b| match b {
                NoticeBlock::Heading(h) => Some(h.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(headings, ["一、工作目标", "二、申报要求", "三、申报流程"]);
        assert_eq!(
            n.blocks.last(),
            Some(&NoticeBlock::Closing("2021年9月7日".into()))
        );
    }

    #[test]
    fn a_program_directory_without_a_notice_still_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(PROGRAM_FILE), PROGRAM).expect("write");
        std::fs::write(dir.path().join(FORM_FILE), FORM).expect("write");
        let def = ProgramDef::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(def.notice.is_none());
        std::fs::write(dir.path().join(NOTICE_FILE), BUILTIN_NOTICE).expect("write");
        let def = ProgramDef::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(def.notice.is_some());
    }

    #[test]
    fn a_contact_missing_from_the_text_names_file_and_line() {
        let broken = BUILTIN_NOTICE.replacen("13507162678\"", "13500000000\"", 1);
        let line = broken
            .lines()
            .position(|l| l.contains("13500000000"))
            .expect("phone line")
            + 1;
        let err = ProgramDef::from_sources_with_notice(PROGRAM, FORM, Some(&broken))
            .expect_err("refused");
        let found: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [format!(
                "notice.md:{line}: 联系电话“13500000000”未出现在通知正文中"
            )]
        );
        let err =
            ProgramDef::from_sources_with_notice(PROGRAM, FORM, Some("正文")).expect_err("no head");
        assert!(
            err.to_string()
                .starts_with("notice.md:1: 通知文件应以 +++ 行开头")
        );
    }
}

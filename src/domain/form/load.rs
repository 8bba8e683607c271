//! Loading a program directory (`program.toml` + `form.toml`) into a checked
//! [`ProgramDef`], with errors that name the file, the line and the reason.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::de::DeserializeOwned;
use toml::Spanned;

use super::definition::{Batch, Program, ProgramDef, Statement};
use super::raw::{Problems, RawForm, RawProgram, RawStatement};

pub const PROGRAM_FILE: &str = "program.toml";
pub const FORM_FILE: &str = "form.toml";

const BUILTIN_PROGRAM: &str =
    include_str!("../../../programs/hubei-cloud-benchmark-2021/program.toml");
const BUILTIN_FORM: &str = include_str!("../../../programs/hubei-cloud-benchmark-2021/form.toml");

static BUILTIN: LazyLock<ProgramDef> = LazyLock::new(|| {
    ProgramDef::from_sources(BUILTIN_PROGRAM, BUILTIN_FORM)
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
    /// Reads and checks `program.toml` and `form.toml` in `dir`.
    pub fn load(dir: &Path) -> Result<ProgramDef, DefError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| DefError::Io { path, source })
        };
        let program = read(PROGRAM_FILE)?;
        let form = read(FORM_FILE)?;
        Self::from_sources(&program, &form)
    }

    /// The shipped 2021 program (第二批湖北省上云标杆企业), embedded in the binary.
    pub fn builtin() -> &'static ProgramDef {
        &BUILTIN
    }

    /// Checks a definition given as the texts of `program.toml` and `form.toml`.
    pub fn from_sources(program_toml: &str, form_toml: &str) -> Result<ProgramDef, DefError> {
        let mut pp = Problems::new(PROGRAM_FILE, program_toml);
        let program = parse::<RawProgram>(&mut pp).map(|raw| program(raw, &mut pp));
        let mut fp = Problems::new(FORM_FILE, form_toml);
        let raw_form = parse::<RawForm>(&mut fp);
        let mut problems = finish(pp);
        let (Some(program), Some(raw_form)) = (program, raw_form) else {
            problems.extend(finish(fp));
            return Err(DefError::Invalid(problems));
        };
        let sources = [
            ("commitments", program.commitments.as_slice()),
            ("declarations", program.declarations.as_slice()),
        ];
        let form = super::check::form(raw_form, &sources, &mut fp);
        problems.extend(finish(fp));
        if problems.is_empty() {
            Ok(ProgramDef { program, form })
        } else {
            Err(DefError::Invalid(problems))
        }
    }
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
            quota,
            enterprise_deadline: enterprise_deadline.unwrap_or(Timestamp::UNIX_EPOCH),
            recommend_deadline: recommend_deadline.unwrap_or(Timestamp::UNIX_EPOCH),
        },
        commitments: statements(&raw.commitments, p),
        declarations: statements(&raw.declarations, p),
        review_criteria: review_criteria(&raw.review_criteria, p),
    }
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

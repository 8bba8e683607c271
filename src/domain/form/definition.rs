//! The public, checked form of a program definition: what the HTML form, the
//! validator, the Word generator and the API schema read.
//!
//! Values here are produced only by [`super::ProgramDef::load`] and friends,
//! so every reference in them resolves and every bound is consistent.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Serialize, Serializer};

/// A program with its current batch and its application form.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramDef {
    pub program: Program,
    pub form: FormDef,
    /// The notice that announced the batch (`notice.md`), when the program
    /// directory has one.
    pub notice: Option<Notice>,
    /// The texts this definition was read from: a new batch starts as a copy
    /// of them, and a batch keeps its own so it reads later as it was.
    #[serde(skip)]
    pub sources: Sources,
}

/// The files of a program definition, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    pub program_toml: String,
    pub form_toml: String,
    pub notice_md: Option<String>,
}

impl ProgramDef {
    /// The 评价标准 a new batch's review starts from.
    pub fn review_criteria(&self) -> crate::domain::scoring::Sheet {
        if self.program.review_criteria.is_empty() {
            crate::domain::scoring::province_default()
        } else {
            crate::domain::scoring::Sheet {
                criteria: self.program.review_criteria.clone(),
            }
        }
    }
}

/// The program (`program.toml`).
#[derive(Debug, Clone, Serialize)]
pub struct Program {
    /// Directory-style key, e.g. `hubei-cloud-benchmark-2021`.
    pub key: String,
    /// 湖北省上云标杆企业
    pub name: String,
    /// 湖北省经济和信息化厅
    pub issuer: String,
    /// 湖北省经济和信息化厅信息化推进处
    pub office: String,
    pub batch: Batch,
    /// 申报单位承诺, in order.
    pub commitments: Vec<Statement>,
    /// Eligibility declarations (通知“二、申报要求”), in order.
    pub declarations: Vec<Statement>,
    /// 评价标准 for the province's experts, in order (empty: the built-in default).
    pub review_criteria: Vec<crate::domain::scoring::Criterion>,
    /// Message texts by kind (`[messages.<kind>]`), every kind present.
    pub messages: crate::domain::notify::Templates,
}

/// One batch of the program: dates and quota.
#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    /// 第二批湖北省上云标杆企业
    pub name: String,
    /// 鄂经信办函〔2021〕75号
    pub doc_number: String,
    pub notice_title: String,
    #[serde(serialize_with = "display")]
    pub notice_date: Date,
    /// The date the form's year-relative rules count back from: the honours
    /// window (`within_years`) and the `{Y-n}` years of `form.toml` (finance
    /// years, audit-report years). Never the day of filling in.
    #[serde(serialize_with = "display")]
    pub reference_date: Date,
    /// How many enterprises are finally selected.
    pub quota: u32,
    /// Default deadline for enterprises to submit to their city (cities may override).
    #[serde(serialize_with = "display")]
    pub enterprise_deadline: Timestamp,
    /// Deadline for cities to submit their recommendation to the province.
    #[serde(serialize_with = "display")]
    pub recommend_deadline: Timestamp,
}

/// The published notice (通知) of the batch, as issued: who signed it, the
/// contacts it names and its text. Doc number, title and date are in [`Batch`].
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    /// 湖北省经济和信息化厅办公室
    pub issuer: String,
    /// 联系人, in the order the notice names them.
    pub contacts: Vec<NoticeContact>,
    pub email: String,
    /// 邮寄地址
    pub address: String,
    /// The text in order, from the salutation to the date.
    pub blocks: Vec<NoticeBlock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeContact {
    pub name: String,
    pub phone: String,
}

/// One block of a notice's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "text", rename_all = "snake_case")]
pub enum NoticeBlock {
    /// 一、工作目标
    Heading(String),
    Paragraph(String),
    /// The signature and the date, set right.
    Closing(String),
}

/// A text the applicant confirms (a commitment or an eligibility declaration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub key: String,
    /// Short name (e.g. 工业企业); for commitments the number 1., 2., 3.
    pub label: String,
    pub text: String,
    /// Where the wording comes from in the notice, if given.
    pub source: Option<String>,
}

/// The application form (申报书).
#[derive(Debug, Clone, Serialize)]
pub struct FormDef {
    pub title: String,
    /// Cover line below the stamps, e.g. 湖北省经济和信息化厅制.
    pub made_by: String,
    /// Cover stamp lines, e.g. 申报单位（盖章）.
    pub cover_stamps: Vec<String>,
    pub sections: Vec<Section>,
    /// The batch's reference date (see [`Batch::reference_date`]).
    #[serde(serialize_with = "display")]
    pub reference_date: Date,
}

/// A numbered section of the form (一、申请表 …).
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub key: String,
    /// Chinese ordinal: 一, 二, …
    pub number: String,
    pub title: String,
    pub hint: Option<String>,
    pub fields: Vec<Field>,
    pub attachments: Vec<AttachmentSlot>,
}

/// One field (or table column) of the form.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// Unique among its siblings; the key in the answers object.
    pub key: String,
    pub label: String,
    /// Guidance printed in parentheses under the label.
    pub hint: Option<String>,
    /// The row header of the 申请表 this field sits under (企业基本信息 …).
    pub group: Option<String>,
    pub required: bool,
    /// Whether the Word document shows this field.
    pub print: bool,
    #[serde(flatten)]
    pub kind: FieldKind,
}

/// What a field holds and the rules for it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    Text {
        max_chars: usize,
    },
    LongText {
        min_chars: Option<usize>,
        max_chars: usize,
    },
    Number(NumberSpec),
    Date(DateSpec),
    Choice(ChoiceSpec),
    YesNo,
    MultiChoice(MultiChoiceSpec),
    FixedTable(FixedTable),
    VariableTable(VariableTable),
    CloudServices(CloudServices),
    Region,
    CreditCode {
        /// Required prefix of the division code of an 18-character code ("42": Hubei).
        division_prefix: Option<String>,
        /// Whether a legacy 9-character 组织机构代码 is accepted.
        allow_org_code: bool,
    },
    Mobile,
    Email,
    Acknowledgements {
        items: Vec<Statement>,
        /// Printed signature line under the items.
        signature: Option<String>,
    },
    /// A printed block without input (signature boxes, the city's opinion box).
    Display {
        text: String,
        signature: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumberSpec {
    pub unit: Option<String>,
    /// Maximum digits after the decimal point (0: whole numbers).
    pub decimals: u32,
    pub min: Option<f64>,
    /// The minimum itself is not allowed (value must be greater).
    pub min_exclusive: bool,
    pub max: Option<f64>,
    /// Values below/above these are accepted with a warning.
    pub warn_min: Option<f64>,
    pub warn_max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DateSpec {
    /// The date may not be after `today`.
    pub not_future: bool,
    /// The date must lie within this many years before `today`.
    pub within_years: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChoiceSpec {
    pub options: Vec<String>,
    /// The option that needs a free-text specification (其它).
    pub other: Option<String>,
    /// Label of that specification (请注明).
    pub other_label: String,
    pub other_max_chars: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MultiChoiceSpec {
    pub groups: Vec<OptionGroup>,
    pub min_selected: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionGroup {
    pub label: String,
    pub options: Vec<String>,
}

/// A row (or service type) of a fixed table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowDef {
    pub key: String,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FixedTable {
    pub rows: Vec<RowDef>,
    pub columns: Vec<Field>,
    pub checks: Vec<CrossCheck>,
    /// Printed with rows as columns (the finance table shows years across).
    pub transposed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariableTable {
    pub columns: Vec<Field>,
    /// Rows are numbered automatically (序号), not typed.
    pub numbered: bool,
    pub number_label: String,
    pub min_rows: usize,
    pub max_rows: usize,
    /// Empty rows printed on the blank template.
    pub blank_rows: usize,
}

/// The 使用云服务类型 block: per service type, used yes/no and, if used, the columns.
#[derive(Debug, Clone, Serialize)]
pub struct CloudServices {
    pub services: Vec<RowDef>,
    pub columns: Vec<Field>,
    pub min_used: usize,
    pub used_label: String,
}

/// A comparison between two numeric columns of the same row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossCheck {
    pub left: String,
    pub op: CompareOp,
    pub right: String,
    pub severity: Severity,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Lt,
    Le,
    Ge,
    Gt,
}

impl CompareOp {
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CompareOp::Lt => left < right,
            CompareOp::Le => left <= right,
            CompareOp::Ge => left >= right,
            CompareOp::Gt => left > right,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// An upload slot of 五、相关附件. Only described here; files are checked elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentSlot {
    pub key: String,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    /// Required when this top-level field has content (荣誉证明 when honours are listed).
    pub required_if_filled: Option<String>,
    /// One upload per listed year, under the key `{key}.{year}`.
    pub per_year: Vec<String>,
    /// Files needed when required (per year for `per_year` slots).
    pub min_count: usize,
    pub max_count: usize,
    /// Allowed file types, lower-case extensions: pdf, jpg, png.
    pub types: Vec<String>,
    pub max_size_mb: u32,
}

impl AttachmentSlot {
    /// The upload keys and labels of this slot: one per year for `per_year`
    /// slots (`audit_reports.2019`, …), else the slot key itself.
    pub fn upload_keys(&self) -> Vec<(String, String)> {
        if self.per_year.is_empty() {
            return vec![(self.key.clone(), self.label.clone())];
        }
        self.per_year
            .iter()
            .map(|y| {
                (
                    format!("{}.{y}", self.key),
                    format!("{}（{y}年度）", self.label),
                )
            })
            .collect()
    }
}

impl FormDef {
    /// All top-level fields in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.sections.iter().flat_map(|s| s.fields.iter())
    }

    /// All attachment slots in order.
    pub fn attachments(&self) -> impl Iterator<Item = &AttachmentSlot> {
        self.sections.iter().flat_map(|s| s.attachments.iter())
    }

    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields().find(|f| f.key == key)
    }

    /// The readable label of an answer path, written as validation labels
    /// its messages: `finance.2020.profit` is 主要财务指标 › 2020年 › 利润（万元）,
    /// `honours.0.date` is 获得荣誉 › 第1行 › 获得时间. A part the form does
    /// not know stays as it is.
    pub fn path_label(&self, path: &str) -> String {
        let mut parts = path.split('.');
        let head = parts.next().unwrap_or_default();
        let Some(f) = self.field(head) else {
            return path.to_string();
        };
        let rest: Vec<&str> = parts.collect();
        let mut out = f.label_with_unit();
        describe(f, &rest, &mut out);
        out
    }
}

/// Appends the labels of `rest`, a path inside the value of `f`.
fn describe(f: &Field, rest: &[&str], out: &mut String) {
    let Some((first, more)) = rest.split_first() else {
        return;
    };
    let column = |cols: &[Field], more: &[&str], out: &mut String| {
        if let Some((c, deeper)) = more.split_first() {
            match cols.iter().find(|x| x.key == *c) {
                Some(col) => {
                    out.push_str(" › ");
                    out.push_str(&col.label_with_unit());
                    describe(col, deeper, out);
                }
                None => push_raw(more, out),
            }
        }
    };
    match &f.kind {
        FieldKind::FixedTable(t) => match t.rows.iter().find(|r| r.key == *first) {
            Some(r) => {
                out.push_str(" › ");
                out.push_str(&r.label);
                column(&t.columns, more, out);
            }
            None => push_raw(rest, out),
        },
        FieldKind::VariableTable(t) => match first.parse::<usize>() {
            Ok(i) => {
                out.push_str(&format!(" › 第{}行", i + 1));
                column(&t.columns, more, out);
            }
            Err(_) => push_raw(rest, out),
        },
        FieldKind::CloudServices(c) => match c.services.iter().find(|s| s.key == *first) {
            Some(s) => {
                out.push_str(" › ");
                out.push_str(&s.label);
                if more.first() == Some(&"used") {
                    out.push_str(" › ");
                    out.push_str(&c.used_label);
                } else {
                    column(&c.columns, more, out);
                }
            }
            None => push_raw(rest, out),
        },
        FieldKind::Choice(spec) if *first == "other" && more.is_empty() => {
            out.push_str(" › ");
            out.push_str(&spec.other_label);
        }
        FieldKind::Choice(_) if *first == "choice" && more.is_empty() => {}
        FieldKind::Region if more.is_empty() && (*first == "city" || *first == "county") => {
            out.push_str(if *first == "city" {
                " › 市（州）"
            } else {
                " › 县（市、区）"
            });
        }
        FieldKind::Acknowledgements { items, .. } => match items.iter().find(|s| s.key == *first) {
            Some(s) if more.is_empty() => {
                out.push_str(" › ");
                out.push_str(&s.label);
            }
            _ => push_raw(rest, out),
        },
        _ => push_raw(rest, out),
    }
}

fn push_raw(rest: &[&str], out: &mut String) {
    if !rest.is_empty() {
        out.push_str(" › ");
        out.push_str(&rest.join("."));
    }
}

impl Field {
    /// The label with its unit, e.g. 利润（万元）.
    pub fn label_with_unit(&self) -> String {
        match &self.kind {
            FieldKind::Number(NumberSpec {
                unit: Some(unit), ..
            }) => format!("{}（{unit}）", self.label),
            _ => self.label.clone(),
        }
    }

    /// Whether this field takes input (display blocks do not).
    pub fn is_input(&self) -> bool {
        !matches!(self.kind, FieldKind::Display { .. })
    }
}

fn display<T: std::fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

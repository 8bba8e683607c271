//! 第二批湖北省上云标杆企业申报推荐表 (附件2) for one city, as .docx and .xlsx,
//! both A4 landscape with explicit Chinese column widths.

use docx_rs::{AlignmentType, HeightRule, PageOrientationType, Paragraph, TableRow};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};
use serde_json::Value;

use super::values;
use super::word::{self, BODY, HEADING, Style, TABLE};
use crate::domain::form::{FieldKind, ProgramDef, count_chars, parse_number};

/// The columns: header, width in .docx twips, width in spreadsheet characters
/// (a Chinese character counts two; spreadsheet autofit counts one, so widths
/// are set here rather than fitted).
pub const RECOMMENDATION_COLUMNS: [(&str, usize, f64); 12] = [
    ("序号", 560, 5.0),
    ("企业名称", 1800, 20.0),
    ("统一社会信用代码", 2000, 20.0),
    ("所在县(市、区)", 950, 10.0),
    ("所属行业", 850, 9.0),
    ("主要上云服务", 1700, 20.0),
    ("近两年上云投入（万元）", 950, 10.0),
    ("主要成效", 2050, 26.0),
    ("推荐理由", 1650, 20.0),
    ("推荐排序", 650, 6.0),
    ("联系人", 700, 8.0),
    ("联系电话", 1250, 13.0),
];

/// The longest 主要成效 derived from the answers, in characters.
const EFFECTS_MAX: usize = 60;

/// One enterprise on a city's 推荐表.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecommendationRow {
    pub enterprise_name: String,
    pub credit_code: String,
    /// 所在县(市、区)
    pub county: String,
    pub industry: String,
    /// 主要上云服务: the names of the services used (their type when unnamed).
    pub cloud_services: String,
    /// 近两年上云投入（万元）, as typed.
    pub cloud_spend: String,
    /// 主要成效: the cost saving and the opening sentences of 上云过程成效描述.
    pub effects: String,
    /// 推荐理由 (the city's).
    pub reason: String,
    /// 推荐排序 (the city's, 1 = first).
    pub rank: u32,
    pub contact: String,
    pub phone: String,
}

impl RecommendationRow {
    /// Derives the row from an application's answers under `def`; 推荐理由
    /// and 推荐排序 come from the city.
    pub fn from_answers(def: &ProgramDef, answers: &Value, reason: &str, rank: u32) -> Self {
        let get = |k: &str| answers.get(k);
        let plain = |k: &str| match def.form.field(k) {
            Some(f) => values::plain(f, get(k)),
            None => values::text(get(k)),
        };
        let (_, county) = values::region_names(get("region"));
        let mut services = Vec::new();
        for f in def.form.fields() {
            if let FieldKind::CloudServices(c) = &f.kind {
                for s in &c.services {
                    let sv = answers.get(&f.key).and_then(|x| x.get(&s.key));
                    if !values::flag(sv.and_then(|x| x.get("used"))) {
                        continue;
                    }
                    let name = c
                        .columns
                        .first()
                        .map(|col| values::text(sv.and_then(|x| x.get(&col.key))))
                        .unwrap_or_default();
                    // The service's own name says more than its type.
                    services.push(if name.is_empty() {
                        s.label.clone()
                    } else {
                        name
                    });
                }
            }
        }
        let mut effects = String::new();
        let saving = plain("cost_saving");
        if !saving.is_empty() {
            effects = format!("上云后年节约成本{saving}万元");
            let ratio = plain("cost_saving_ratio");
            if !ratio.is_empty() {
                effects.push_str(&format!("，占{ratio}%"));
            }
            effects.push('。');
        }
        effects.push_str(&opening(&plain("effect_summary"), EFFECTS_MAX));
        RecommendationRow {
            enterprise_name: plain("company_name"),
            credit_code: plain("credit_code"),
            county,
            industry: plain("industry"),
            cloud_services: services.join("；"),
            cloud_spend: plain("cloud_spend"),
            effects,
            reason: reason.to_string(),
            rank,
            contact: plain("contact_name"),
            phone: plain("contact_mobile"),
        }
    }

    /// The twelve cells in column order; `seq` is the 序号 (1-based).
    pub fn cells(&self, seq: usize) -> [String; 12] {
        [
            seq.to_string(),
            self.enterprise_name.clone(),
            self.credit_code.clone(),
            self.county.clone(),
            self.industry.clone(),
            self.cloud_services.clone(),
            self.cloud_spend.clone(),
            self.effects.clone(),
            self.reason.clone(),
            if self.rank == 0 {
                String::new()
            } else {
                self.rank.to_string()
            },
            self.contact.clone(),
            self.phone.clone(),
        ]
    }
}

/// Whole sentences from the start of `text` up to `max` characters; a
/// first sentence longer than that is cut after its last clause that fits.
pub fn opening(text: &str, max: usize) -> String {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join("");
    let mut out = String::new();
    for sentence in text.split_inclusive(['。', '！', '？', '；']) {
        if count_chars(&out) + count_chars(sentence) > max {
            break;
        }
        out.push_str(sentence);
    }
    if out.is_empty() && !text.is_empty() {
        let head: String = text.chars().take(max.saturating_sub(1)).collect();
        out = match head.rfind(['，', '、', ',']) {
            Some(i) if i > 0 => head[..i].to_string(),
            _ => head,
        };
        out.push('…');
    }
    out
}

/// A city's 推荐表: its title line data and ordered rows.
#[derive(Debug, Clone, Copy)]
pub struct RecommendationSheet<'a> {
    /// 推荐单位 printed before the stamp, e.g. 武汉市经济和信息化局; blank to fill by hand.
    pub recommender: &'a str,
    /// The date line, e.g. 2021年9月18日; blank prints 年 月 日 to fill in.
    pub date: &'a str,
    /// In the city's order.
    pub rows: &'a [RecommendationRow],
}

impl RecommendationSheet<'_> {
    fn title(def: &ProgramDef) -> String {
        format!("{}申报推荐表", def.program.batch.name)
    }

    fn stamp_line(&self) -> String {
        let unit = if self.recommender.is_empty() {
            "　".repeat(16)
        } else {
            self.recommender.to_string()
        };
        format!("推荐单位（盖章）：{unit}")
    }

    fn date_line(&self) -> String {
        if self.date.is_empty() {
            "日期：　　　　年　　月　　日".into()
        } else {
            format!("日期：{}", self.date)
        }
    }
}

/// Height of a header row in twips; its value marks the row that repeats on
/// every page (docx-rs has no API for `w:tblHeader`).
const HEADER_ROW: f32 = 571.0;

/// The 推荐表 as .docx bytes.
pub fn recommendation_docx(def: &ProgramDef, sheet: &RecommendationSheet<'_>) -> Vec<u8> {
    const CELL: Style = Style::new(TABLE, word::SIZE_S5).align(AlignmentType::Center);
    const HEAD: Style = Style::new(HEADING, word::SIZE_S5).align(AlignmentType::Center);
    let grid: Vec<usize> = RECOMMENDATION_COLUMNS.iter().map(|c| c.1).collect();
    let mut rows = vec![
        TableRow::new(
            RECOMMENDATION_COLUMNS
                .iter()
                .map(|(h, w, _)| word::cell(vec![word::para(h, HEAD)], *w, 1))
                .collect(),
        )
        .row_height(HEADER_ROW)
        .height_rule(HeightRule::AtLeast),
    ];
    for (i, r) in sheet.rows.iter().enumerate() {
        let cells = r
            .cells(i + 1)
            .iter()
            .zip(RECOMMENDATION_COLUMNS.iter())
            .enumerate()
            .map(|(j, (text, (_, w, _)))| {
                // Long texts read better left-aligned.
                let st = if matches!(j, 1 | 5 | 7 | 8) {
                    CELL.align(AlignmentType::Left)
                } else {
                    CELL
                };
                word::cell(vec![word::para(text, st)], *w, 1)
            })
            .collect();
        rows.push(TableRow::new(cells).cant_split());
    }
    let line = Style::new(BODY, word::SIZE_4);
    let info = Paragraph::new()
        .add_run(word::run(&sheet.stamp_line(), BODY, word::SIZE_4))
        .add_run(word::run(&"　".repeat(8), BODY, word::SIZE_4))
        .add_run(word::run(&sheet.date_line(), BODY, word::SIZE_4))
        .line_spacing(docx_rs::LineSpacing::new().before(120).after(120));
    let d = word::document()
        .page_size(word::A4_H, word::A4_W)
        .page_orient(PageOrientationType::Landscape)
        .page_margin(word::margins(1134, 850, 1134, 850))
        .footer(word::footer(""))
        .add_paragraph(word::para(
            &RecommendationSheet::title(def),
            Style::new(HEADING, word::SIZE_2)
                .align(AlignmentType::Center)
                .space(0, 200),
        ))
        .add_paragraph(info)
        .add_table(word::table(rows, grid))
        .add_paragraph(word::para("", line));
    word::pack_patched(d, |xml| {
        let marker = format!(r#"<w:trHeight w:val="{HEADER_ROW}""#);
        xml.replacen(&marker, &format!("<w:tblHeader />{marker}"), 1)
    })
}

/// Display width of `s` in spreadsheet characters (CJK counts two).
pub(crate) fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if (c as u32) < 0x2000 { 1.1 } else { 1.8 })
        .sum()
}

/// Formats shared by the 推荐表 and the summary sheet.
pub(crate) struct Formats {
    pub title: Format,
    pub info: Format,
    pub head: Format,
    pub cell: Format,
    pub left: Format,
    pub number: Format,
}

impl Formats {
    pub fn new() -> Formats {
        let base = Format::new()
            .set_font_name("宋体")
            .set_font_size(10)
            .set_text_wrap()
            .set_align(FormatAlign::VerticalCenter);
        let boxed = base.clone().set_border(FormatBorder::Thin);
        Formats {
            title: Format::new()
                .set_font_name("黑体")
                .set_font_size(18)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            info: base.clone().set_font_size(12).set_align(FormatAlign::Left),
            head: boxed
                .clone()
                .set_font_name("黑体")
                .set_align(FormatAlign::Center),
            cell: boxed.clone().set_align(FormatAlign::Center),
            left: boxed.clone().set_align(FormatAlign::Left),
            number: boxed.set_align(FormatAlign::Center).set_num_format("0.00"),
        }
    }
}

/// Writes one row of cells: numbers where the column holds numbers, the
/// credit code and phone as text; returns the height the row needs (points).
pub(crate) fn write_cells(
    ws: &mut rust_xlsxwriter::Worksheet,
    fmt: &Formats,
    row: u32,
    cells: &[(String, f64, Kind)],
) -> Result<(), XlsxError> {
    let mut lines = 1.0f64;
    for (col, (text, width, kind)) in cells.iter().enumerate() {
        let col = col as u16;
        match kind {
            Kind::Int if text.parse::<u32>().is_ok() => {
                ws.write_number_with_format(row, col, text.parse::<u32>().unwrap_or(0), &fmt.cell)?;
            }
            Kind::Amount if parse_number(text).is_some() => {
                let n = parse_number(text).map(|n| n.value).unwrap_or(0.0);
                ws.write_number_with_format(row, col, n, &fmt.number)?;
            }
            Kind::Long => {
                ws.write_string_with_format(row, col, text, &fmt.left)?;
            }
            _ => {
                ws.write_string_with_format(row, col, text, &fmt.cell)?;
            }
        }
        lines = lines.max((text_width(text) / (width - 0.5).max(1.0)).ceil());
    }
    ws.set_row_height(row, (13.5 * lines + 4.0).max(20.0))?;
    Ok(())
}

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Amount,
    Text,
    Long,
}

pub(crate) const RECOMMENDATION_KINDS: [Kind; 12] = [
    Kind::Int,
    Kind::Long,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Long,
    Kind::Amount,
    Kind::Long,
    Kind::Long,
    Kind::Int,
    Kind::Text,
    Kind::Text,
];

/// The 推荐表 as .xlsx bytes.
pub fn recommendation_xlsx(def: &ProgramDef, sheet: &RecommendationSheet<'_>) -> Vec<u8> {
    // Writing to memory fails only on a bug (a bad cell reference).
    build_xlsx(def, sheet).expect("building the 推荐表 .xlsx")
}

fn build_xlsx(def: &ProgramDef, sheet: &RecommendationSheet<'_>) -> Result<Vec<u8>, XlsxError> {
    let fmt = Formats::new();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("推荐表")?;
    ws.set_landscape().set_paper_size(9);
    ws.set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_print_center_horizontally(true);
    ws.set_footer("&C第 &P 页　共 &N 页");
    let last = (RECOMMENDATION_COLUMNS.len() - 1) as u16;
    ws.merge_range(0, 0, 0, last, &RecommendationSheet::title(def), &fmt.title)?;
    ws.set_row_height(0, 36)?;
    ws.merge_range(1, 0, 1, 6, &sheet.stamp_line(), &fmt.info)?;
    ws.merge_range(1, 7, 1, last, &sheet.date_line(), &fmt.info)?;
    ws.set_row_height(1, 24)?;
    for (col, (h, _, width)) in RECOMMENDATION_COLUMNS.iter().enumerate() {
        ws.set_column_width(col as u16, *width)?;
        ws.write_string_with_format(2, col as u16, *h, &fmt.head)?;
    }
    ws.set_row_height(2, 30)?;
    ws.set_repeat_rows(2, 2)?;
    for (i, r) in sheet.rows.iter().enumerate() {
        let cells: Vec<(String, f64, Kind)> = r
            .cells(i + 1)
            .into_iter()
            .zip(RECOMMENDATION_COLUMNS.iter())
            .zip(RECOMMENDATION_KINDS)
            .map(|((t, c), k)| (t, c.2, k))
            .collect();
        write_cells(ws, &fmt, 3 + i as u32, &cells)?;
    }
    wb.save_to_buffer()
}

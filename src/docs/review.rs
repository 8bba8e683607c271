//! The review's spreadsheets and documents: the expert-pool import template,
//! the 评审汇总表 and each expert's 评分表 for signature.

use docx_rs::{AlignmentType, Paragraph, Run, Table, TableCell, TableRow, WidthType};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use crate::services::review::IMPORT_COLUMNS;

/// The import template: the header row and one example row, every cell text.
pub fn expert_template() -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("专家库")?;
    let head = Format::new().set_bold().set_border(FormatBorder::Thin);
    let text = Format::new().set_num_format("@");
    let example = [
        "张三",
        "武汉大学",
        "教授",
        "工业互联网、云计算",
        "武汉市",
        "13800000000",
        "zhangsan@example.com",
        "某某科技有限公司",
    ];
    for (c, ((_, label), ex)) in IMPORT_COLUMNS.iter().zip(example).enumerate() {
        let c = c as u16;
        ws.set_column_width(c, 18)?;
        ws.set_column_format(c, &text)?;
        ws.write_string_with_format(0, c, *label, &head)?;
        ws.write_string(1, c, ex)?;
    }
    ws.set_column_width(7, 36)?;
    ws.write_string(
        3,
        0,
        "说明：第1行为表头，请勿修改；从第2行起每行一名专家（示例行请删除）。专业领域、回避单位可填多个，用顿号分隔。所在市州填湖北省17个市州之一。",
    )?;
    wb.save_to_buffer()
}

/// One line of the 评审汇总表.
pub struct SummaryRow {
    pub rank: usize,
    pub enterprise: String,
    pub city: String,
    pub industry: String,
    pub n: usize,
    /// Each expert's total, highest first.
    pub raw: String,
    pub dropped: String,
    pub final_score: f64,
    pub spread: f64,
    pub flagged: bool,
    pub conclusion: String,
    pub tie_note: String,
}

pub fn summary_xlsx(title: &str, formula: &str, rows: &[SummaryRow]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("评审汇总表")?;
    let head = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_text_wrap();
    let cell = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    let num = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format("0.00");
    ws.write_string(0, 0, title)?;
    ws.write_string(1, 0, format!("计分方法：{formula}"))?;
    let cols: [(&str, f64); 12] = [
        ("排名", 6.0),
        ("企业名称", 30.0),
        ("所在市州", 12.0),
        ("所属行业", 16.0),
        ("评分专家数", 8.0),
        ("各专家评分", 30.0),
        ("去掉的最高分/最低分", 16.0),
        ("最终得分", 10.0),
        ("分差", 8.0),
        ("分差提示", 10.0),
        ("专家组结论", 12.0),
        ("并列处理", 30.0),
    ];
    for (c, (label, w)) in cols.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
        ws.write_string_with_format(3, c as u16, *label, &head)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = 4 + i as u32;
        ws.write_number_with_format(row, 0, r.rank as f64, &cell)?;
        ws.write_string_with_format(row, 1, &r.enterprise, &cell)?;
        ws.write_string_with_format(row, 2, &r.city, &cell)?;
        ws.write_string_with_format(row, 3, &r.industry, &cell)?;
        ws.write_number_with_format(row, 4, r.n as f64, &cell)?;
        ws.write_string_with_format(row, 5, &r.raw, &cell)?;
        ws.write_string_with_format(row, 6, &r.dropped, &cell)?;
        ws.write_number_with_format(row, 7, r.final_score, &num)?;
        ws.write_number_with_format(row, 8, r.spread, &num)?;
        ws.write_string_with_format(row, 9, if r.flagged { "分差过大" } else { "" }, &cell)?;
        ws.write_string_with_format(row, 10, &r.conclusion, &cell)?;
        ws.write_string_with_format(row, 11, &r.tie_note, &cell)?;
    }
    wb.save_to_buffer()
}

/// One application on an expert's 评分表.
pub struct ScoreSheetRow {
    pub enterprise: String,
    /// (criterion name with its maximum, score)
    pub scores: Vec<(String, String)>,
    pub total: String,
    pub comment: String,
}

fn text(s: &str, size: usize, bold: bool) -> Run {
    let r = super::word::run(s, "宋体", size);
    if bold { r.bold() } else { r }
}

fn cell(s: &str) -> TableCell {
    TableCell::new().add_paragraph(Paragraph::new().add_run(text(s, 21, false)))
}

/// An expert's 评分表: every application they scored with each criterion's
/// score, their comment, and lines for signature and date.
pub fn score_sheet_docx(
    title: &str,
    expert: &str,
    criteria: &[String],
    rows: &[ScoreSheetRow],
) -> Vec<u8> {
    let mut doc = super::word::document().add_paragraph(
        Paragraph::new().align(AlignmentType::Center).add_run(text(
            &format!("{title}专家评分表"),
            32,
            true,
        )),
    );
    doc = doc.add_paragraph(Paragraph::new().add_run(text(
        &format!("评审专家：{expert}"),
        24,
        false,
    )));
    let mut head = vec![cell("企业名称")];
    head.extend(criteria.iter().map(|c| cell(c)));
    head.push(cell("总分"));
    head.push(cell("评审意见"));
    let mut table_rows = vec![TableRow::new(head)];
    for r in rows {
        let mut cells = vec![cell(&r.enterprise)];
        cells.extend(r.scores.iter().map(|(_, v)| cell(v)));
        cells.push(cell(&r.total));
        cells.push(cell(&r.comment));
        table_rows.push(TableRow::new(cells));
    }
    doc = doc.add_table(Table::new(table_rows).width(9000, WidthType::Dxa));
    doc = doc
        .add_paragraph(Paragraph::new())
        .add_paragraph(Paragraph::new().add_run(text(
            "本人承诺：已按评价标准独立、公正评分，与所评企业无利害关系，对评审内容保密。",
            21,
            false,
        )))
        .add_paragraph(Paragraph::new().add_run(text(
            "专家签字：____________        日期：____年__月__日",
            24,
            false,
        )));
    super::word::pack(doc)
}

/// The 专家组意见: per application the panel's opinion and conclusion,
/// with lines for every panel member's signature.
pub fn panel_opinion_docx(
    title: &str,
    rows: &[(String, String, String)],
    members: &[String],
) -> Vec<u8> {
    let mut doc = super::word::document().add_paragraph(
        Paragraph::new().align(AlignmentType::Center).add_run(text(
            &format!("{title}专家组意见"),
            32,
            true,
        )),
    );
    let mut table_rows = vec![TableRow::new(vec![
        cell("企业名称"),
        cell("专家组意见"),
        cell("评审结论"),
    ])];
    for (name, opinion, conclusion) in rows {
        table_rows.push(TableRow::new(vec![
            cell(name),
            cell(opinion),
            cell(conclusion),
        ]));
    }
    doc = doc.add_table(Table::new(table_rows).width(9000, WidthType::Dxa));
    doc = doc
        .add_paragraph(Paragraph::new())
        .add_paragraph(Paragraph::new().add_run(text("专家组成员签字：", 24, true)));
    for m in members {
        doc = doc.add_paragraph(Paragraph::new().add_run(text(
            &format!("{m}：____________"),
            24,
            false,
        )));
    }
    doc = doc.add_paragraph(Paragraph::new().add_run(text("日期：____年__月__日", 24, false)));
    super::word::pack(doc)
}

/// The 入选证书 of a selected enterprise: its name, the batch, the 公告's
/// number and date, and the issuer, on one A4 page for printing.
pub fn certificate_docx(
    enterprise: &str,
    batch: &str,
    doc_number: &str,
    date: &str,
    issuer: &str,
) -> Vec<u8> {
    let centred = |s: &str, size: usize, bold: bool| {
        Paragraph::new()
            .align(AlignmentType::Center)
            .add_run(text(s, size, bold))
    };
    let mut doc = super::word::document();
    for _ in 0..4 {
        doc = doc.add_paragraph(Paragraph::new());
    }
    doc = doc
        .add_paragraph(centred("证　书", 72, true))
        .add_paragraph(Paragraph::new())
        .add_paragraph(centred(enterprise, 40, true))
        .add_paragraph(Paragraph::new())
        .add_paragraph(centred(&format!("被认定为{batch}"), 32, false));
    if !doc_number.is_empty() {
        doc = doc.add_paragraph(centred(&format!("（{doc_number}）"), 28, false));
    }
    for _ in 0..4 {
        doc = doc.add_paragraph(Paragraph::new());
    }
    doc = doc
        .add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Right)
                .add_run(text(issuer, 32, false)),
        )
        .add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Right)
                .add_run(text(date, 32, false)),
        );
    super::word::pack(doc)
}

/// One case of the 典型案例汇编.
pub struct CaseEntry {
    pub title: String,
    pub enterprise: String,
    pub city: String,
    pub industry: String,
    pub summary: String,
    pub body: String,
}

/// The 典型案例汇编: a title page line, then each approved case with its
/// enterprise, city and industry, summary and text (one paragraph per line).
pub fn case_compilation_docx(title: &str, cases: &[CaseEntry]) -> Vec<u8> {
    let mut doc = super::word::document().add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .add_run(text(title, 40, true)),
    );
    doc = doc.add_paragraph(Paragraph::new().align(AlignmentType::Center).add_run(text(
        &format!("共 {} 个案例", cases.len()),
        24,
        false,
    )));
    for (i, c) in cases.iter().enumerate() {
        doc = doc
            .add_paragraph(Paragraph::new())
            .add_paragraph(Paragraph::new().add_run(text(
                &format!("案例{}　{}", i + 1, c.title),
                32,
                true,
            )))
            .add_paragraph(Paragraph::new().add_run(text(
                &format!("{}（{}，{}）", c.enterprise, c.city, c.industry),
                24,
                false,
            )));
        if !c.summary.is_empty() {
            doc = doc.add_paragraph(Paragraph::new().add_run(text(
                &format!("摘要：{}", c.summary),
                24,
                false,
            )));
        }
        for line in c.body.lines().filter(|l| !l.trim().is_empty()) {
            doc = doc.add_paragraph(Paragraph::new().add_run(text(line.trim(), 24, false)));
        }
    }
    super::word::pack(doc)
}

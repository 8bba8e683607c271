//! The province package: exactly what the cities submitted (报送).
//!
//! Each city that has submitted its recommendation has a folder: its 推荐表
//! (.docx and .xlsx, generated from its list), its own stamped files (the
//! 推荐文件 and the 推荐表 scan, as uploaded) and, per recommended enterprise
//! in the city's order, its 申报书 .docx and its stamped scan. A city that has
//! not submitted has no folder. At the top level, 报送情况.txt lists every
//! city as 已报送 or 未报送, and 汇总表.xlsx lists the recommended
//! applications with their state (and the same 报送情况 as a second sheet).
//!
//! The zip is written entry by entry: one city's documents are held at a
//! time (its 申报书 generated on all cores, then written in order), and each
//! scan is copied from its reader in chunks. Memory does not grow with
//! the number of applications (the summary keeps one short row each).

use std::io::{self, Read, Seek, Write};

use rust_xlsxwriter::{Workbook, XlsxError};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::recommend::{self, Formats, Kind, RecommendationRow, RecommendationSheet};
use super::{AppDoc, application_docx, safe_file_name};
use crate::domain::form::ProgramDef;
use crate::store::Millis;

/// Opens a stamped scan when its turn comes in the package.
pub type ScanOpener = Box<dyn FnOnce() -> io::Result<Box<dyn Read>> + Send>;

/// One recommended enterprise of a city.
pub struct PackageEntry {
    /// Its line on the 推荐表 (with the city's 推荐理由 and 推荐排序).
    pub row: RecommendationRow,
    pub doc: AppDoc,
    /// The stamped scan (PDF); `None` when none was uploaded.
    pub scan: Option<ScanOpener>,
}

/// One city's folder, in the city's order.
pub struct CityPackage {
    /// GB/T 2260 code, e.g. 420100.
    pub code: String,
    pub name: String,
    /// 推荐单位 printed on the 推荐表 (blank to fill by hand).
    pub recommender: String,
    /// Date line of the 推荐表 (blank: 年 月 日 to fill in).
    pub date: String,
    pub entries: Vec<PackageEntry>,
}

/// A file the city uploaded with its recommendation, copied as it is.
pub struct CityFile {
    /// What it is, put before its name in the package: 市州推荐文件（盖章）.
    pub label: String,
    /// The name it was uploaded under.
    pub file_name: String,
    pub open: ScanOpener,
}

/// One city as the package takes it: whether it has submitted (报送) its
/// recommendation and, if so, its folder.
pub struct CityPart {
    /// Code, name, 推荐表 details and the recommended entries. The entries
    /// of a city that has not submitted are never written.
    pub package: CityPackage,
    /// Only a city that has submitted gets a folder.
    pub submitted: bool,
    pub submitted_at: Option<Millis>,
    /// Each entry's state (状态), in the order of `package.entries`.
    pub states: Vec<String>,
    /// The city's stamped 推荐文件 and 推荐表 scan.
    pub files: Vec<CityFile>,
}

impl From<CityPackage> for CityPart {
    /// A folder given on its own: submitted, at an unknown time, without
    /// states or stamped files.
    fn from(package: CityPackage) -> CityPart {
        CityPart {
            package,
            submitted: true,
            submitted_at: None,
            states: Vec::new(),
            files: Vec::new(),
        }
    }
}

/// One line of 报送情况.
struct Report {
    code: String,
    name: String,
    submitted: bool,
    at: Option<Millis>,
    count: usize,
}

impl Report {
    /// 已报送（2021-09-18 10:00:00，推荐3家） or 未报送.
    fn status(&self) -> String {
        if !self.submitted {
            return "未报送".into();
        }
        match self.at {
            Some(t) => format!(
                "已报送（{}，推荐{}家）",
                crate::clock::format_datetime(t),
                self.count
            ),
            None => format!("已报送（推荐{}家）", self.count),
        }
    }
}

/// Writes the package to a seekable `out` (a file). `cities` are every city
/// in order ([`CityPart`]s, or [`CityPackage`]s taken as submitted).
/// `total` is the number of entries over the cities that have submitted, for
/// `progress(done, total)`, called once before the first entry and after
/// each one. Returns `out`.
pub fn write_package<W, I, C>(
    out: W,
    def: &ProgramDef,
    total: usize,
    cities: I,
    progress: impl FnMut(usize, usize),
) -> anyhow::Result<W>
where
    W: Write + Seek,
    I: IntoIterator<Item = anyhow::Result<C>>,
    C: Into<CityPart>,
{
    let zip = ZipWriter::new(out);
    write_all(zip, def, total, cities, progress)
}

/// Writes the package to a stream that cannot seek (an HTTP response body
/// fed from a blocking thread): entries carry data descriptors.
pub fn write_package_stream<W, I, C>(
    out: W,
    def: &ProgramDef,
    total: usize,
    cities: I,
    progress: impl FnMut(usize, usize),
) -> anyhow::Result<W>
where
    W: Write,
    I: IntoIterator<Item = anyhow::Result<C>>,
    C: Into<CityPart>,
{
    let zip = ZipWriter::new_stream(out);
    Ok(write_all(zip, def, total, cities, progress)?.into_inner())
}

fn options() -> SimpleFileOptions {
    let now = jiff::Timestamp::now().to_zoned(crate::clock::shanghai());
    let time = zip::DateTime::from_date_and_time(
        now.year().clamp(1980, 2107) as u16,
        now.month() as u8,
        now.day() as u8,
        now.hour() as u8,
        now.minute() as u8,
        now.second() as u8,
    )
    .unwrap_or_default();
    // Office files and scans are compressed already: store them as they are.
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(time)
        .large_file(false)
}

fn write_all<W, I, C>(
    mut zip: ZipWriter<W>,
    def: &ProgramDef,
    total: usize,
    cities: I,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<W>
where
    W: Write + Seek,
    I: IntoIterator<Item = anyhow::Result<C>>,
    C: Into<CityPart>,
{
    let o = options();
    let mut summary = Summary::new()?;
    let mut reports = Vec::new();
    let mut done = 0;
    progress(done, total);
    for part in cities {
        let CityPart {
            package: city,
            submitted,
            submitted_at,
            states,
            files,
        } = part?.into();
        reports.push(Report {
            code: city.code.clone(),
            name: city.name.clone(),
            submitted,
            at: submitted_at,
            count: if submitted { city.entries.len() } else { 0 },
        });
        if !submitted {
            continue;
        }
        let dir = format!("{}-{}", city.code, safe_file_name(&city.name));
        let rows: Vec<RecommendationRow> = city.entries.iter().map(|e| e.row.clone()).collect();
        let sheet = RecommendationSheet {
            recommender: &city.recommender,
            date: &city.date,
            rows: &rows,
        };
        zip.start_file(format!("{dir}/推荐表.docx"), o)?;
        zip.write_all(&recommend::recommendation_docx(def, &sheet))?;
        zip.start_file(format!("{dir}/推荐表.xlsx"), o)?;
        zip.write_all(&recommend::recommendation_xlsx(def, &sheet))?;
        drop(rows);
        for f in files {
            let mut r = (f.open)()?;
            zip.start_file(
                format!("{dir}/{}-{}", f.label, safe_file_name(&f.file_name)),
                o,
            )?;
            io::copy(&mut r, &mut zip)?;
        }
        let docs = generate(def, &city.entries);
        for (i, (e, docx)) in city.entries.into_iter().zip(docs).enumerate() {
            let stem = format!("{:02}-{}", i + 1, e.doc.file_stem());
            let state = states.get(i).map_or("", String::as_str);
            summary.add(&city.name, i + 1, &e.row, &e.doc, state)?;
            zip.start_file(format!("{dir}/{stem}-申报书.docx"), o)?;
            zip.write_all(&docx)?;
            drop(docx);
            if let Some(open) = e.scan {
                let mut r = open()?;
                zip.start_file(format!("{dir}/{stem}-盖章扫描件.pdf"), o)?;
                io::copy(&mut r, &mut zip)?;
            }
            done += 1;
            progress(done, total);
        }
    }
    zip.start_file("报送情况.txt", o)?;
    zip.write_all(report_text(&reports).as_bytes())?;
    summary.reports(&reports)?;
    zip.start_file("汇总表.xlsx", o)?;
    zip.write_all(&summary.finish()?)?;
    Ok(zip.finish()?)
}

/// 报送情况.txt: one line per city, then the totals. UTF-8 with a byte
/// order mark and CRLF, so that Notepad on any Windows shows it.
fn report_text(reports: &[Report]) -> String {
    let mut s = String::from("\u{feff}各市州推荐报送情况\r\n\r\n");
    for (i, r) in reports.iter().enumerate() {
        s.push_str(&format!(
            "{}. {} {}：{}\r\n",
            i + 1,
            r.code,
            r.name,
            r.status()
        ));
    }
    let sent: Vec<&Report> = reports.iter().filter(|r| r.submitted).collect();
    s.push_str(&format!(
        "\r\n合计：已报送{}个市州，推荐{}家；未报送{}个市州。\r\n",
        sent.len(),
        sent.iter().map(|r| r.count).sum::<usize>(),
        reports.len() - sent.len()
    ));
    s
}

/// The 申报书 of one city's entries, generated on all cores (a city's
/// documents are a few megabytes at most), in order.
fn generate(def: &ProgramDef, entries: &[PackageEntry]) -> Vec<Vec<u8>> {
    let docs: Vec<&AppDoc> = entries.iter().map(|e| &e.doc).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(docs.len());
    if threads <= 1 {
        return docs.iter().map(|d| application_docx(def, d)).collect();
    }
    let chunk = docs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = docs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|d| application_docx(def, d))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("a 申报书 generator thread panicked"))
            .collect()
    })
}

/// The summary: the recommended applications across cities (sheet 汇总表)
/// and each city's 报送情况 (second sheet).
struct Summary {
    wb: Workbook,
    fmt: Formats,
    next: u32,
}

const SUMMARY_COLUMNS: [(&str, f64, Kind); 17] = [
    ("序号", 6.0, Kind::Int),
    ("市州", 12.0, Kind::Text),
    ("推荐排序", 7.0, Kind::Int),
    ("企业名称", 24.0, Kind::Long),
    ("状态", 12.0, Kind::Text),
    ("统一社会信用代码", 21.0, Kind::Text),
    ("所在县(市、区)", 11.0, Kind::Text),
    ("所属行业", 10.0, Kind::Text),
    ("主要上云服务", 24.0, Kind::Long),
    ("近两年上云投入（万元）", 12.0, Kind::Amount),
    ("主要成效", 34.0, Kind::Long),
    ("推荐理由", 24.0, Kind::Long),
    ("联系人", 9.0, Kind::Text),
    ("联系电话", 14.0, Kind::Text),
    ("申报编号", 34.0, Kind::Text),
    ("版本", 6.0, Kind::Int),
    ("指纹（SHA-256）", 70.0, Kind::Text),
];

const REPORT_COLUMNS: [(&str, f64, Kind); 6] = [
    ("序号", 6.0, Kind::Int),
    ("市州代码", 10.0, Kind::Text),
    ("市州", 12.0, Kind::Text),
    ("报送情况", 10.0, Kind::Text),
    ("报送时间", 20.0, Kind::Text),
    ("推荐家数", 9.0, Kind::Int),
];

/// A header row with print setup.
fn head(
    ws: &mut rust_xlsxwriter::Worksheet,
    fmt: &Formats,
    columns: &[(&str, f64, Kind)],
) -> Result<(), XlsxError> {
    ws.set_print_fit_to_pages(1, 0);
    ws.set_footer("&C第 &P 页　共 &N 页");
    for (col, (h, w, _)) in columns.iter().enumerate() {
        ws.set_column_width(col as u16, *w)?;
        ws.write_string_with_format(0, col as u16, *h, &fmt.head)?;
    }
    ws.set_row_height(0, 30)?;
    ws.set_repeat_rows(0, 0)?;
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn cells(texts: Vec<String>, columns: &[(&str, f64, Kind)]) -> Vec<(String, f64, Kind)> {
    texts
        .into_iter()
        .zip(columns.iter())
        .map(|(t, c)| (t, c.1, c.2))
        .collect()
}

impl Summary {
    fn new() -> Result<Summary, XlsxError> {
        let mut wb = Workbook::new();
        let fmt = Formats::new();
        let ws = wb.add_worksheet();
        ws.set_name("汇总表")?;
        ws.set_landscape().set_paper_size(9);
        head(ws, &fmt, &SUMMARY_COLUMNS)?;
        Ok(Summary { wb, fmt, next: 1 })
    }

    fn add(
        &mut self,
        city: &str,
        rank: usize,
        r: &RecommendationRow,
        doc: &AppDoc,
        state: &str,
    ) -> Result<(), XlsxError> {
        let rank = if r.rank > 0 { r.rank as usize } else { rank };
        let texts = vec![
            self.next.to_string(),
            city.to_string(),
            rank.to_string(),
            r.enterprise_name.clone(),
            state.to_string(),
            r.credit_code.clone(),
            r.county.clone(),
            r.industry.clone(),
            r.cloud_services.clone(),
            r.cloud_spend.clone(),
            r.effects.clone(),
            r.reason.clone(),
            r.contact.clone(),
            r.phone.clone(),
            doc.number().to_string(),
            doc.version.to_string(),
            doc.fingerprint.clone().unwrap_or_default(),
        ];
        let ws = self.wb.worksheet_from_index(0)?;
        recommend::write_cells(ws, &self.fmt, self.next, &cells(texts, &SUMMARY_COLUMNS))?;
        self.next += 1;
        Ok(())
    }

    /// The sheet 报送情况: every city, 已报送 (time, count) or 未报送.
    fn reports(&mut self, reports: &[Report]) -> Result<(), XlsxError> {
        let ws = self.wb.add_worksheet();
        ws.set_name("报送情况")?;
        ws.set_paper_size(9);
        head(ws, &self.fmt, &REPORT_COLUMNS)?;
        for (i, r) in reports.iter().enumerate() {
            let texts = vec![
                (i + 1).to_string(),
                r.code.clone(),
                r.name.clone(),
                if r.submitted {
                    "已报送"
                } else {
                    "未报送"
                }
                .to_string(),
                r.at.map(crate::clock::format_datetime).unwrap_or_default(),
                if r.submitted {
                    r.count.to_string()
                } else {
                    String::new()
                },
            ];
            recommend::write_cells(ws, &self.fmt, i as u32 + 1, &cells(texts, &REPORT_COLUMNS))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<u8>, XlsxError> {
        if self.next > 1 {
            let last = (SUMMARY_COLUMNS.len() - 1) as u16;
            self.wb
                .worksheet_from_index(0)?
                .autofilter(0, 0, self.next - 1, last)?;
        }
        self.wb.save_to_buffer()
    }
}

//! The province package: one zip with a folder per city (推荐表 .docx and
//! .xlsx, and per recommended enterprise its 申报书 .docx and its stamped scan),
//! plus a summary .xlsx of all applications across cities.
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

/// One city's part of the package, in the city's order.
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

/// Writes the package to a seekable `out` (a file). `total` is the number of
/// entries over all cities, for `progress(done, total)`, called once before
/// the first entry and after each one. Returns `out`.
pub fn write_package<W, I>(
    out: W,
    def: &ProgramDef,
    total: usize,
    cities: I,
    progress: impl FnMut(usize, usize),
) -> anyhow::Result<W>
where
    W: Write + Seek,
    I: IntoIterator<Item = anyhow::Result<CityPackage>>,
{
    let zip = ZipWriter::new(out);
    write_all(zip, def, total, cities, progress)
}

/// Writes the package to a stream that cannot seek (an HTTP response body
/// fed from a blocking thread): entries carry data descriptors.
pub fn write_package_stream<W, I>(
    out: W,
    def: &ProgramDef,
    total: usize,
    cities: I,
    progress: impl FnMut(usize, usize),
) -> anyhow::Result<W>
where
    W: Write,
    I: IntoIterator<Item = anyhow::Result<CityPackage>>,
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

fn write_all<W, I>(
    mut zip: ZipWriter<W>,
    def: &ProgramDef,
    total: usize,
    cities: I,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<W>
where
    W: Write + Seek,
    I: IntoIterator<Item = anyhow::Result<CityPackage>>,
{
    let o = options();
    let mut summary = Summary::new()?;
    let mut done = 0;
    progress(done, total);
    for city in cities {
        let city = city?;
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
        let docs = generate(def, &city.entries);
        for (i, (e, docx)) in city.entries.into_iter().zip(docs).enumerate() {
            let stem = format!("{:02}-{}", i + 1, e.doc.file_stem());
            summary.add(&city.name, i + 1, &e.row, &e.doc)?;
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
    zip.start_file("汇总表.xlsx", o)?;
    zip.write_all(&summary.finish()?)?;
    Ok(zip.finish()?)
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

/// The summary sheet of all applications across cities.
struct Summary {
    wb: Workbook,
    fmt: Formats,
    next: u32,
}

const SUMMARY_COLUMNS: [(&str, f64, Kind); 16] = [
    ("序号", 6.0, Kind::Int),
    ("市州", 12.0, Kind::Text),
    ("推荐排序", 7.0, Kind::Int),
    ("企业名称", 24.0, Kind::Long),
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

impl Summary {
    fn new() -> Result<Summary, XlsxError> {
        let mut wb = Workbook::new();
        let fmt = Formats::new();
        let ws = wb.add_worksheet();
        ws.set_name("汇总表")?;
        ws.set_landscape().set_paper_size(9);
        ws.set_print_fit_to_pages(1, 0);
        ws.set_footer("&C第 &P 页　共 &N 页");
        for (col, (h, w, _)) in SUMMARY_COLUMNS.iter().enumerate() {
            ws.set_column_width(col as u16, *w)?;
            ws.write_string_with_format(0, col as u16, *h, &fmt.head)?;
        }
        ws.set_row_height(0, 30)?;
        ws.set_repeat_rows(0, 0)?;
        ws.set_freeze_panes(1, 0)?;
        Ok(Summary { wb, fmt, next: 1 })
    }

    fn add(
        &mut self,
        city: &str,
        rank: usize,
        r: &RecommendationRow,
        doc: &AppDoc,
    ) -> Result<(), XlsxError> {
        let rank = if r.rank > 0 { r.rank as usize } else { rank };
        let texts = [
            self.next.to_string(),
            city.to_string(),
            rank.to_string(),
            r.enterprise_name.clone(),
            r.credit_code.clone(),
            r.county.clone(),
            r.industry.clone(),
            r.cloud_services.clone(),
            r.cloud_spend.clone(),
            r.effects.clone(),
            r.reason.clone(),
            r.contact.clone(),
            r.phone.clone(),
            doc.application_id.clone(),
            doc.version.to_string(),
            doc.fingerprint.clone().unwrap_or_default(),
        ];
        let cells: Vec<(String, f64, Kind)> = texts
            .into_iter()
            .zip(SUMMARY_COLUMNS.iter())
            .map(|(t, c)| (t, c.1, c.2))
            .collect();
        let ws = self.wb.worksheet_from_index(0)?;
        recommend::write_cells(ws, &self.fmt, self.next, &cells)?;
        self.next += 1;
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

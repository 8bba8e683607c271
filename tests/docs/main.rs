//! The documents layer, proven with readers shenbao did not write:
//! python-docx and openpyxl (via `read_docx.py` / `read_xlsx.py`) and
//! LibreOffice.

mod application;
mod blank;
mod package;
mod recommend;

use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::civil::Date;
use serde_json::{Value, json};
use shenbao::docs::AppDoc;
use shenbao::domain::form::{ProgramDef, sample_answers_on};

pub fn def() -> &'static ProgramDef {
    ProgramDef::builtin()
}

pub const TODAY: Date = Date::constant(2021, 9, 10);

/// A complete sample application with a few characters XML must escape.
pub fn sample(seed: u64) -> Value {
    let mut a = sample_answers_on(seed, TODAY);
    let addr = format!(
        "{}（A&B座<3>号）",
        a["address"].as_str().unwrap_or_default()
    );
    a["address"] = addr.into();
    a
}

/// A stored-snapshot-like JSON of `answers`.
pub fn snapshot(id: &str, answers: &Value) -> Value {
    json!({
        "application": id,
        "enterprise": {"name": answers["company_name"], "credit_code": answers["credit_code"]},
        "content": answers,
        "attachments": [
            {"slot": "business_license", "file_name": "营业执照（副本）.pdf", "sha256": "ab".repeat(32), "size": 123_456},
            {"slot": "audit_reports.2019", "file_name": "2019年度审计报告.pdf", "sha256": "cd".repeat(32), "size": 2_345_678},
            {"slot": "audit_reports.2020", "file_name": "2020年度审计报告.pdf", "sha256": "ef".repeat(32), "size": 3_456_789},
            {"slot": "cloud_proof", "file_name": "上云合同及发票.pdf", "sha256": "12".repeat(32), "size": 456_789},
            {"slot": "stamped_scan", "file_name": "申报书盖章扫描件.pdf", "sha256": "34".repeat(32), "size": 5_678_901},
        ],
    })
}

pub fn submitted_sample(seed: u64) -> (AppDoc, Value) {
    let snap = snapshot("0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4", &sample(seed));
    (AppDoc::from_snapshot(&snap, 3), snap)
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/docs")
        .join(name)
}

fn python(script_name: &str, bytes: &[u8], ext: &str) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("doc.{ext}"));
    std::fs::write(&path, bytes).expect("write document");
    let out = Command::new("python3")
        .arg(script(script_name))
        .arg(&path)
        .output()
        .expect("python3 runs (scripts/test installs python-docx and openpyxl)");
    assert!(
        out.status.success(),
        "{script_name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("reader prints JSON")
}

/// The document as python-docx sees it.
pub fn read_docx(bytes: &[u8]) -> Docx {
    Docx(python("read_docx.py", bytes, "docx"))
}

/// The workbook as openpyxl sees it.
pub fn read_xlsx(bytes: &[u8]) -> Value {
    python("read_xlsx.py", bytes, "xlsx")
}

/// A cell of a table row as read back: text, first grid column, span.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub col: usize,
    pub span: usize,
}

pub struct Docx(pub Value);

impl Docx {
    /// Table `t` with vertically merged cells showing their text on every row.
    pub fn rows(&self, t: usize) -> Vec<Vec<Cell>> {
        self.0["tables"][t]["view"]
            .as_array()
            .expect("table")
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| Cell {
                        text: c["text"].as_str().unwrap().to_string(),
                        col: c["col"].as_u64().unwrap() as usize,
                        span: c["span"].as_u64().unwrap() as usize,
                    })
                    .collect()
            })
            .collect()
    }

    /// The rows of table 0 whose first column reads `group` and which hold a
    /// cell reading `label`: the cells after that label.
    pub fn after(&self, group: &str, label: &str) -> Vec<String> {
        let rows = self.rows(0);
        let row = rows
            .iter()
            .find(|r| r[0].text == group && r.iter().skip(1).any(|c| c.text == label))
            .unwrap_or_else(|| panic!("no row {group} / {label}"));
        let i = row.iter().skip(1).position(|c| c.text == label).unwrap() + 1;
        row[i + 1..].iter().map(|c| c.text.clone()).collect()
    }

    /// The value cell right after `label` in group `group`.
    pub fn value(&self, group: &str, label: &str) -> String {
        self.after(group, label)
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    pub fn paragraphs(&self) -> Vec<String> {
        self.0["paragraphs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect()
    }

    pub fn strings(&self, key: &str) -> Vec<String> {
        self.0[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect()
    }

    /// Every paragraph and cell text, in order.
    pub fn all_text(&self) -> String {
        let mut s = self.paragraphs().join("\n");
        for t in 0..self.0["tables"].as_array().unwrap().len() {
            for r in self.rows(t) {
                for c in r {
                    s.push('\n');
                    s.push_str(&c.text);
                }
            }
        }
        s
    }
}

#[test]
fn readers_are_installed() {
    let out = Command::new("python3")
        .args(["-c", "import docx, openpyxl"])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python-docx and openpyxl are needed: pip install python-docx openpyxl"
    );
}

/// Writes every kind of sample document: into `$SHENBAO_RENDER_DIR` for
/// `scripts/render-docs`, else into a temporary folder, and checks each is a
/// non-empty Office file.
#[test]
fn render_samples() {
    use shenbao::docs::*;
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var("SHENBAO_RENDER_DIR")
        .map_or_else(|_| tmp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    let (doc, _) = submitted_sample(7);
    let doc = doc.with_city_opinion(Some(
        "经审核，该企业申报材料齐全、真实有效，符合申报条件，同意推荐。".into(),
    ));
    std::fs::write(dir.join("申报书.docx"), application_docx(def(), &doc)).unwrap();
    let draft = AppDoc::draft(sample(8), "0190a1b2c3d4e5f6a7b8c9d0e1f2a3b5", 12, vec![]);
    std::fs::write(
        dir.join("申报书-草稿.docx"),
        application_docx(def(), &draft),
    )
    .unwrap();
    std::fs::write(dir.join("空白申报书.docx"), blank_docx(def())).unwrap();
    let rows: Vec<RecommendationRow> = (1..=6)
        .map(|i| {
            RecommendationRow::from_answers(
                def(),
                &sample(i),
                "上云投入持续、成效可量化，在本行业具有示范带动作用。",
                i as u32,
            )
        })
        .collect();
    let sheet = RecommendationSheet {
        recommender: "武汉市经济和信息化局",
        date: "2021年9月18日",
        rows: &rows,
    };
    std::fs::write(dir.join("推荐表.docx"), recommendation_docx(def(), &sheet)).unwrap();
    std::fs::write(
        dir.join("推荐表-Excel.xlsx"),
        recommendation_xlsx(def(), &sheet),
    )
    .unwrap();
    for name in [
        "申报书.docx",
        "申报书-草稿.docx",
        "空白申报书.docx",
        "推荐表.docx",
        "推荐表-Excel.xlsx",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert!(bytes.len() > 2000 && bytes.starts_with(b"PK"), "{name}");
    }
}

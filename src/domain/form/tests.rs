//! Tests: loading and checking definitions, canonical JSON, sample answers,
//! attachments. Field rules are in `tests_rules.rs`.

use std::path::PathBuf;

use jiff::civil::{Date, date};
use serde_json::{Value, json};

use super::*;

const PROGRAM: &str = include_str!("../../../programs/hubei-cloud-benchmark-2021/program.toml");
const FORM: &str = include_str!("../../../programs/hubei-cloud-benchmark-2021/form.toml");

pub(super) const TODAY: Date = date(2021, 9, 10);

fn shipped_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("programs/hubei-cloud-benchmark-2021")
}

/// The 1-based line of the first occurrence of `needle` at or after `after`.
fn line_of(src: &str, after: &str, needle: &str) -> usize {
    let start = src.find(after).expect("anchor present");
    let at = start + src[start..].find(needle).expect("needle present");
    src[..at].matches('\n').count() + 1
}

fn problems(program: &str, form: &str) -> Vec<String> {
    match ProgramDef::from_sources(program, form) {
        Ok(_) => panic!("a broken definition was accepted"),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn shipped_definition_loads_from_disk_and_embedded() {
    let def = ProgramDef::load(&shipped_dir()).unwrap_or_else(|e| panic!("{e}"));
    let b = &def.program.batch;
    assert_eq!(b.name, "第二批湖北省上云标杆企业");
    assert_eq!(b.doc_number, "鄂经信办函〔2021〕75号");
    assert_eq!(b.quota, 50);
    assert_eq!(b.notice_date, date(2021, 9, 7));
    assert_eq!(b.recommend_deadline.to_string(), "2021-09-20T15:59:59Z");
    assert_eq!(b.enterprise_deadline.to_string(), "2021-09-15T09:00:00Z");
    assert_eq!(def.program.commitments.len(), 3);
    let decl: Vec<&str> = def
        .program
        .declarations
        .iter()
        .map(|d| d.label.as_str())
        .collect();
    assert_eq!(
        decl,
        [
            "独立法人",
            "工业企业",
            "信用良好且无违法记录",
            "近两年上云持续投入",
            "同意公开发布典型案例"
        ]
    );
    let numbers: Vec<&str> = def
        .form
        .sections
        .iter()
        .map(|s| s.number.as_str())
        .collect();
    assert_eq!(numbers, ["一", "二", "三", "四", "五"]);
    let builtin = ProgramDef::builtin();
    assert_eq!(builtin.form.fields().count(), def.form.fields().count());
    assert_eq!(builtin.form.attachments().count(), 6);
}

#[test]
fn shipped_definition_has_the_notice_wording() {
    let form = &ProgramDef::builtin().form;
    let Some(FieldKind::Choice(industry)) = form.field("industry").map(|f| &f.kind) else {
        panic!("industry is a choice");
    };
    assert_eq!(industry.options.len(), 12);
    assert_eq!(industry.other.as_deref(), Some("其它"));
    let Some(FieldKind::MultiChoice(goals)) = form.field("cloud_goals").map(|f| &f.kind) else {
        panic!("cloud_goals is a multi choice");
    };
    let flat: Vec<(&str, &str)> = goals
        .groups
        .iter()
        .flat_map(|g| {
            g.options
                .iter()
                .map(move |o| (g.label.as_str(), o.as_str()))
        })
        .collect();
    assert_eq!(flat.len(), 9);
    assert!(flat.contains(&("经营管理优化", "人力及财务流程优化")));
    assert!(flat.contains(&("产品全流程优化", "规模定制优化")));
    let Some(FieldKind::FixedTable(fin)) = form.field("finance").map(|f| &f.kind) else {
        panic!("finance is a fixed table");
    };
    let labels: Vec<String> = fin.columns.iter().map(Field::label_with_unit).collect();
    assert_eq!(
        labels,
        [
            "总资产（万元）",
            "资产负债率（%）",
            "主营业务收入（万元）",
            "税金（万元）",
            "利润（万元）",
            "信息技术人员（人）"
        ]
    );
    let construction = form.field("construction").expect("construction");
    assert_eq!(
        construction.hint.as_deref(),
        Some("列举1-2个应用案例，不少于3000字")
    );
    let Some(FieldKind::Acknowledgements { items, .. }) =
        form.field("commitments").map(|f| &f.kind)
    else {
        panic!("commitments");
    };
    assert!(items[0].text.starts_with("本单位近两年信用状况良好"));
    // The definition serializes for the API schema.
    let v = serde_json::to_value(ProgramDef::builtin()).expect("serializes");
    assert_eq!(v["form"]["sections"][0]["fields"][1]["kind"], "choice");
}

#[test]
fn min_greater_than_max_names_file_line_and_reason() {
    let anchor = "key = \"total_assets\"";
    let broken = FORM.replacen(anchor, &format!("{anchor}\nmax = -1"), 1);
    let line = line_of(&broken, anchor, "min = 0");
    let found = problems(PROGRAM, &broken);
    assert_eq!(
        found,
        [format!(
            "form.toml:{line}: 字段 finance.total_assets 的最小值大于最大值"
        )]
    );
}

#[test]
fn broken_definitions_are_reported_with_lines() {
    let cases: [(&str, &str, &str, &str); 8] = [
        (
            "key = \"founded\"",
            "kind = \"date\"",
            "kind = \"calendar\"",
            "字段 founded 的类型“calendar”未知",
        ),
        (
            "key = \"address\"",
            "key = \"address\"",
            "key = \"products\"",
            "字段 products 重复",
        ),
        (
            "key = \"honour_proof\"",
            "required_if_filled = \"honours\"",
            "required_if_filled = \"awards\"",
            "引用的字段 awards 不存在",
        ),
        (
            "key = \"commitments\"",
            "source = \"commitments\"",
            "source = \"promises\"",
            "承诺来源“promises”不存在",
        ),
        (
            "key = \"industry\"",
            "other = \"其它\"",
            "other = \"其他\"",
            "“需注明”选项“其他”不在选项中",
        ),
        (
            "[[sections.fields.checks]]",
            "right = \"revenue\"",
            "right = \"income\"",
            "引用的列 income 不存在",
        ),
        (
            "key = \"company_name\"",
            "max_chars = 100",
            "decimals = 2\nmax_chars = 100",
            "类型 text 不支持属性 decimals",
        ),
        (
            "key = \"construction\"",
            "min_chars = 3000",
            "min_chars = 40000",
            "最少字数大于最多字数",
        ),
    ];
    for (anchor, from, to, reason) in cases {
        let start = FORM.find(anchor).expect("anchor");
        let at = start + FORM[start..].find(from).expect("from");
        let broken = format!("{}{to}{}", &FORM[..at], &FORM[at + from.len()..]);
        let line = broken[..at].matches('\n').count() + 1;
        let found = problems(PROGRAM, &broken);
        assert!(
            found
                .iter()
                .any(|p| p.starts_with(&format!("form.toml:{line}: ")) && p.contains(reason)),
            "{reason}: expected at line {line}, got {found:?}"
        );
    }
}

#[test]
fn toml_errors_and_program_errors_have_lines() {
    let broken = FORM.replacen(
        "label = \"企业名称\"",
        "label = \"企业名称\"\ncolour = \"red\"",
        1,
    );
    let line = line_of(&broken, "colour", "colour");
    let found = problems(PROGRAM, &broken);
    assert!(
        found[0].starts_with(&format!("form.toml:{line}: TOML 格式错误")),
        "{found:?}"
    );

    let broken = PROGRAM.replacen("\"2021-09-20T23:59:59+08:00\"", "\"2021-09-20\"", 1);
    let line = line_of(&broken, "recommend_deadline =", "recommend");
    let found = problems(&broken, FORM);
    assert!(
        found[0].starts_with(&format!("program.toml:{line}: 市州推荐截止时间")),
        "{found:?}"
    );
}

#[test]
fn load_reports_missing_and_broken_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = ProgramDef::load(dir.path()).expect_err("no files");
    assert!(matches!(err, DefError::Io { .. }));
    assert!(err.to_string().contains("program.toml"));
    std::fs::write(dir.path().join(PROGRAM_FILE), PROGRAM).expect("write");
    std::fs::write(dir.path().join(FORM_FILE), format!("{FORM}\n[oops\n")).expect("write");
    let err = ProgramDef::load(dir.path()).expect_err("broken");
    let line = FORM.lines().count() + 2;
    assert!(
        err.to_string()
            .starts_with(&format!("form.toml:{line}: TOML 格式错误")),
        "{err}"
    );
}

#[test]
fn canonical_json_sorts_keys_and_fingerprint_is_stable() {
    let a: Value =
        serde_json::from_str(r#"{"b": 1, "a": {"y": [1, {"d": "x", "c": null}], "x": "中文\n"}}"#)
            .expect("json");
    let b: Value =
        serde_json::from_str(r#"{"a": {"x": "中文\n", "y": [1, {"c": null, "d": "x"}]}, "b": 1}"#)
            .expect("json");
    assert_eq!(
        canonical_json(&a),
        r#"{"a":{"x":"中文\n","y":[1,{"c":null,"d":"x"}]},"b":1}"#
    );
    assert_eq!(canonical_json(&a), canonical_json(&b));
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_eq!(fingerprint(&a).len(), 64);
    assert_ne!(fingerprint(&a), fingerprint(&json!({"b": 2})));
    let s = sample_answers_on(7, TODAY);
    let reparsed: Value = serde_json::from_str(&canonical_json(&s)).expect("round trip");
    assert_eq!(reparsed, s);
}

#[test]
fn sample_answers_are_complete_and_valid() {
    let form = &ProgramDef::builtin().form;
    for (seed, today) in [
        (0, TODAY),
        (1, TODAY),
        (42, date(2026, 11, 3)),
        (u64::MAX, date(2030, 1, 1)),
    ] {
        let a = sample_answers_on(seed, today);
        let report = validate(form, &a, today);
        assert!(report.errors.is_empty(), "seed {seed}: {:?}", report.errors);
        assert!(
            report.warnings.is_empty(),
            "seed {seed}: {:?}",
            report.warnings
        );
        let n = count_chars(a["construction"].as_str().unwrap_or_default());
        assert!(n >= 3000, "seed {seed}: construction has {n} chars");
        assert!(count_chars(a["effect_summary"].as_str().unwrap_or_default()) <= 1000);
        assert!(
            a["company_name"]
                .as_str()
                .unwrap_or_default()
                .contains("示例数据")
        );
    }
    assert_eq!(sample_answers_on(5, TODAY), sample_answers_on(5, TODAY));
    assert_ne!(sample_answers_on(5, TODAY), sample_answers_on(6, TODAY));
    assert!(
        validate(form, &sample_answers(3), date(2000, 1, 1))
            .errors
            .len()
            < 100
    );
}

#[test]
fn missing_required_attachments() {
    let form = &ProgramDef::builtin().form;
    let mut a = sample_answers_on(1, TODAY);
    let all: Vec<(&str, usize)> = vec![
        ("business_license", 1),
        ("audit_reports.2019", 1),
        ("audit_reports.2020", 1),
        ("cloud_proof", 3),
        ("honour_proof", 1),
        ("stamped_scan", 1),
    ];
    assert_eq!(missing_attachments(form, &a, &all), []);
    let fields = |m: Vec<Issue>| m.into_iter().map(|i| i.field).collect::<Vec<_>>();
    let some = [
        ("business_license".to_string(), 1),
        ("audit_reports.2019".to_string(), 2),
    ];
    assert_eq!(
        fields(missing_attachments(form, &a, &some)),
        [
            "audit_reports.2020",
            "cloud_proof",
            "honour_proof",
            "stamped_scan"
        ]
    );
    let m = missing_attachments(form, &a, &some);
    assert_eq!(
        m[0].message,
        "请上传近两年企业财务审计报告复印件（2020年度）"
    );
    assert_eq!(m[2].message, "已填写企业荣誉，请上传荣誉证明文件复印件");
    // No honours listed (or only empty rows): no 荣誉证明 needed.
    a["honours"] = json!([{"name": "", "level": null, "date": ""}]);
    let without: Vec<(&str, usize)> = all
        .iter()
        .copied()
        .filter(|(k, _)| *k != "honour_proof")
        .collect();
    assert_eq!(missing_attachments(form, &a, &without), []);
}

#[test]
fn count_chars_rules() {
    assert_eq!(count_chars("  上云abc123，。!  \n"), 11);
    assert_eq!(count_chars("第一段。\n\n第二段。\r\n"), 8);
    assert_eq!(count_chars("\u{3000}\u{3000}缩进"), 2);
    assert_eq!(count_chars("a b"), 3);
    assert_eq!(count_chars("\u{FEFF}零\u{200B}宽"), 2);
    assert_eq!(count_chars(""), 0);
}

#[test]
fn number_parsing() {
    assert_eq!(
        parse_number("1,234.50").map(|n| (n.value, n.decimals)),
        Some((1234.5, 2))
    );
    assert_eq!(parse_number("－１２．５").map(|n| n.value), Some(-12.5));
    assert_eq!(parse_number(" 7 ").map(|n| n.decimals), Some(0));
    for bad in ["", "-", ".", "1e5", "NaN", "inf", "12万", "1.2.3", "+-1"] {
        assert_eq!(parse_number(bad), None, "{bad}");
    }
}

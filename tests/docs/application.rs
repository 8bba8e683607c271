//! The 申报书: every field of a complete sample in its place, the blank
//! template, the draft mark, the footer, and LibreOffice.

use serde_json::Value;
use shenbao::docs::{AppDoc, application_docx, blank_docx};
use shenbao::domain::form::{fingerprint, parse_date};
use shenbao::domain::region;

use super::{def, read_docx, sample, submitted_sample};

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn date_cn(v: &Value) -> String {
    let d = parse_date(&s(v)).expect("sample date");
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// The long text as the document prints it: its non-blank lines.
fn lines(v: &Value) -> Vec<String> {
    s(v).split('\n')
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[test]
fn every_field_of_a_complete_sample_sits_in_its_cell() {
    let (doc, _) = submitted_sample(7);
    let a = doc.answers.clone();
    let d = read_docx(&application_docx(def(), &doc));
    const BASIC: &str = "企业基本信息";

    assert_eq!(d.value(BASIC, "企业名称"), s(&a["company_name"]));
    let industry = d.value(BASIC, "所属行业");
    let chosen = s(&a["industry"]["choice"]);
    assert!(industry.contains(&format!("☑{chosen}")), "{industry}");
    assert_eq!(industry.matches('☑').count(), 1, "{industry}");
    for o in [
        "食品",
        "石化",
        "汽车",
        "医药",
        "电子信息",
        "机械",
        "建材",
        "纺织",
        "冶金",
        "电热",
        "金属制品",
        "其它",
    ] {
        assert!(industry.contains(o), "option {o} printed: {industry}");
    }
    if chosen == "其它" {
        assert!(industry.contains(&s(&a["industry"]["other"])));
    }
    assert_eq!(d.value(BASIC, "组织机构代码"), s(&a["credit_code"]));
    assert_eq!(d.value(BASIC, "成立时间"), date_cn(&a["founded"]));
    assert_eq!(d.value(BASIC, "规上企业"), "☑是　☐否");
    let it = if a["it_department"] == Value::Bool(true) {
        "☑是　☐否"
    } else {
        "☐是　☑否"
    };
    assert_eq!(d.value(BASIC, "是否设立独立的信息化部门"), it);
    let city = region::city(&s(&a["region"]["city"])).unwrap();
    let county = region::county(city.code, &s(&a["region"]["county"])).unwrap();
    let place = d.value(BASIC, "所属地区");
    assert!(
        place.starts_with(city.name) && place.contains(county.name),
        "{place}"
    );
    assert_eq!(d.value(BASIC, "主要产品/服务"), s(&a["products"]));
    assert_eq!(d.value(BASIC, "详细地址"), s(&a["address"]));
    assert!(d.value(BASIC, "详细地址").contains("A&B座<3>号"));

    // The finance table: years across, one row per indicator.
    assert_eq!(d.after(BASIC, ""), vec!["2018年", "2019年", "2020年"]);
    for (key, label) in [
        ("total_assets", "总资产（万元）"),
        ("debt_ratio", "资产负债率（%）"),
        ("revenue", "主营业务收入（万元）"),
        ("tax", "税金（万元）"),
        ("profit", "利润（万元）"),
        ("it_staff", "信息技术人员（人）"),
    ] {
        let want: Vec<String> = ["2018", "2019", "2020"]
            .iter()
            .map(|y| s(&a["finance"][*y][key]))
            .collect();
        assert_eq!(d.after(BASIC, label), want, "{label}");
    }

    const CONTACT: &str = "联系人信息";
    assert_eq!(d.value(CONTACT, "姓名"), s(&a["contact_name"]));
    assert_eq!(d.value(CONTACT, "职务"), s(&a["contact_title"]));
    assert_eq!(d.value(CONTACT, "移动电话"), s(&a["contact_mobile"]));
    assert_eq!(d.value(CONTACT, "电子邮箱"), s(&a["contact_email"]));

    // 企业荣誉: numbered rows under 序号 | 奖项名称 | 级别 | 获得时间.
    assert_eq!(
        d.after("企业荣誉", "序号"),
        vec!["奖项名称", "级别", "获得时间"]
    );
    for (i, h) in a["honours"].as_array().unwrap().iter().enumerate() {
        let row = d.after("企业荣誉", &(i + 1).to_string());
        assert_eq!(
            row,
            vec![s(&h["name"]), s(&h["level"]), date_cn(&h["date"])]
        );
    }

    // 使用云服务类型: each service with its box, name, provider, in-pool answer.
    let rows = d.rows(0);
    for (key, label) in [
        ("identifier_resolution", "标识解析服务"),
        ("platform", "工业互联网平台服务"),
        ("security", "工业互联网安全服务"),
    ] {
        let sv = &a["cloud_services"][key];
        let used = sv["used"] == Value::Bool(true);
        let row = rows
            .iter()
            .find(|r| r[0].text == "使用云服务类型" && r[1].text.contains(label))
            .unwrap_or_else(|| panic!("service row {label}"));
        if used {
            assert_eq!(
                row[1].text,
                format!("☑{label}（名称：{}）", s(&sv["service_name"]))
            );
            assert_eq!(row[2].text, s(&sv["provider"]));
            let pool = if sv["in_pool"] == Value::Bool(true) {
                "☑是　☐否"
            } else {
                "☐是　☑否"
            };
            assert_eq!(row[3].text, pool);
        } else {
            assert!(
                row[1].text.starts_with(&format!("☐{label}")),
                "{}",
                row[1].text
            );
        }
    }

    // 企业上云实现目标: every option printed, the chosen ones ticked.
    let goals: Vec<String> = a["cloud_goals"].as_array().unwrap().iter().map(s).collect();
    for group in ["生产过程优化", "经营管理优化", "产品全流程优化"] {
        let boxes = d.value("企业上云实现目标", group);
        for part in boxes.split(['　', '\n']) {
            let (mark, option) = part.split_at(part.char_indices().nth(1).unwrap().0);
            assert_eq!(mark == "☑", goals.contains(&option.to_string()), "{part}");
        }
    }

    // 费用 and 成效描述: wide labels over the group column.
    let row = |label: &str| {
        rows.iter()
            .find(|r| r[0].text.starts_with(label))
            .unwrap_or_else(|| panic!("row {label}"))
            .clone()
    };
    let spend = row("近两年上云总费用");
    assert_eq!(spend[0].text, "近两年上云总费用（万元）");
    assert_eq!(spend[0].span, 4);
    assert_eq!(spend[1].text, s(&a["cloud_spend"]));
    let saving = row("上云后节约各方面成本");
    assert_eq!(saving[0].text, "上云后节约各方面成本（多少万元、所占比例）");
    assert_eq!(
        saving[1].text,
        format!(
            "上云后节约成本：{}万元；节约成本所占比例：{}%",
            s(&a["cost_saving"]),
            s(&a["cost_saving_ratio"])
        )
    );
    let effect = row("上云过程成效描述");
    assert_eq!(effect[0].text, "上云过程成效描述\n（不超过1000字）");
    assert_eq!(effect[1].text, lines(&a["effect_summary"]).join("\n"));

    // Signature and statement boxes.
    let leader = row("申报单位负责人签章");
    assert_eq!(leader[1].span, 12);
    assert!(leader[1].text.contains("企业法定代表人或负责人签字："));
    assert!(leader[1].text.contains("（企业公章）"));
    let promise = row("申报单位承诺");
    for (i, c) in def().program.commitments.iter().enumerate() {
        assert!(
            promise[1].text.contains(&format!("☑{}.{}", i + 1, c.text)),
            "{}",
            promise[1].text
        );
    }
    assert!(promise[1].text.contains("申报责任人（签名）"));
    let opinion = row("所在地经济和信息化主管部门审核意见");
    assert!(
        opinion[1]
            .text
            .contains("各市州经济和信息化主管部门（盖章）")
    );

    // Sections 二 to 四: each text under its heading, paragraph by paragraph.
    let ps = d.paragraphs();
    for f in def().form.sections[1..4].iter().flat_map(|s| &s.fields) {
        let at = ps
            .iter()
            .position(|p| *p == f.label)
            .unwrap_or_else(|| panic!("heading {}", f.label));
        let want = lines(&a[&f.key]);
        let mut from = at + 1;
        if f.hint.is_some() {
            assert_eq!(ps[from], format!("（{}）", f.hint.as_deref().unwrap()));
            from += 1;
        }
        assert_eq!(ps[from..from + want.len()], want[..], "text of {}", f.label);
    }
    for h in [
        "一、申请表",
        "二、企业基本情况概述",
        "三、标杆要素条件符合情况概述",
        "四、项目成效",
        "五、相关附件",
    ] {
        assert!(ps.iter().any(|p| p == h), "heading {h}");
    }
    // 五 lists the uploads of the snapshot under their slots.
    let five = ps.iter().position(|p| p == "五、相关附件").unwrap();
    let tail = ps[five..].join("\n");
    for name in [
        "营业执照（副本）.pdf",
        "2019年度：2019年度审计报告.pdf",
        "上云合同及发票.pdf",
        "申报书盖章扫描件.pdf",
    ] {
        assert!(tail.contains(name), "{name} listed in 五: {tail}");
    }
    assert!(tail.contains("4、荣誉证明文件复印件\n（未上传）"), "{tail}");

    // The footer identifies the version; A4 portrait; Chinese fonts.
    let footer = d.strings("footers").join("\n");
    assert!(
        footer.contains("申报编号 0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4"),
        "{footer}"
    );
    assert!(footer.contains("第3版"), "{footer}");
    let fp = doc.fingerprint.clone().unwrap();
    assert!(footer.contains(&format!("指纹 {}", &fp[..12])), "{footer}");
    assert!(footer.contains("第 1 页"), "{footer}");
    assert!(
        d.strings("headers").concat().trim().is_empty(),
        "no 草稿 header"
    );
    assert_eq!(d.0["page"]["width"], 11906);
    assert_eq!(d.0["page"]["height"], 16838);
    let fonts = d.strings("east_asia_fonts");
    for f in ["仿宋_GB2312", "黑体", "宋体"] {
        assert!(fonts.contains(&f.to_string()), "{fonts:?}");
    }
}

#[test]
fn the_fingerprint_is_the_sha256_of_the_snapshot_content() {
    let (doc, snap) = submitted_sample(11);
    assert_eq!(
        doc.fingerprint.as_deref(),
        Some(fingerprint(&snap["content"]).as_str())
    );
    assert_eq!(doc.enterprise_name, s(&snap["content"]["company_name"]));
    assert_eq!(doc.attachments.len(), 5);
    assert_eq!(doc.attachments[1].slot, "audit_reports.2019");
}

#[test]
fn the_city_opinion_fills_its_box() {
    let (doc, _) = submitted_sample(3);
    let text = "经审核，该企业申报材料真实、齐全，同意推荐。\n（第二段：已实地核查）";
    let d = read_docx(&application_docx(
        def(),
        &doc.with_city_opinion(Some(text.into())),
    ));
    let rows = d.rows(0);
    let row = rows
        .iter()
        .find(|r| r[0].text == "所在地经济和信息化主管部门审核意见")
        .unwrap();
    assert!(
        row[1]
            .text
            .starts_with("经审核，该企业申报材料真实、齐全，同意推荐。\n（第二段：已实地核查）"),
        "{}",
        row[1].text
    );
}

#[test]
fn a_draft_is_marked_on_every_page() {
    let doc = AppDoc::draft(sample(5), "draft-app-1", 9, vec![]);
    let d = read_docx(&application_docx(def(), &doc));
    assert!(d.strings("headers").concat().contains("草稿"));
    let footer = d.strings("footers").join("\n");
    // The content fingerprint the submission will have if nothing changes
    // after printing: the stamped scan of this print is matched by it.
    let fp = fingerprint(&sample(5));
    assert!(
        footer.contains(&format!(
            "申报编号 draft-app-1　第9版（草稿）　指纹 {}",
            &fp[..12]
        )),
        "{footer}"
    );
    assert_eq!(
        d.value("企业基本信息", "企业名称"),
        s(&sample(5)["company_name"])
    );
}

#[test]
fn libreoffice_opens_the_docx() {
    let Ok(which) = std::process::Command::new("which")
        .arg("libreoffice")
        .output()
    else {
        return;
    };
    if !which.status.success() {
        eprintln!("libreoffice not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (doc, _) = submitted_sample(2);
    std::fs::write(dir.path().join("app.docx"), application_docx(def(), &doc)).unwrap();
    std::fs::write(dir.path().join("blank.docx"), blank_docx(def())).unwrap();
    let status = std::process::Command::new("libreoffice")
        .arg(format!(
            "-env:UserInstallation=file://{}/lo",
            dir.path().display()
        ))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .arg(dir.path().join("app.docx"))
        .arg(dir.path().join("blank.docx"))
        .output()
        .expect("libreoffice runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    for name in ["app.pdf", "blank.pdf"] {
        let pdf = std::fs::read(dir.path().join(name)).expect("converted to PDF");
        assert!(
            pdf.starts_with(b"%PDF-") && pdf.len() > 20_000,
            "{name}: {} bytes",
            pdf.len()
        );
    }
    // The PDF text carries the Chinese, the fingerprint prefix and several pages.
    if let Ok(out) = std::process::Command::new("pdftotext")
        .arg(dir.path().join("app.pdf"))
        .arg("-")
        .output()
        && out.status.success()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        let fp = doc.fingerprint.unwrap();
        assert!(text.contains("第二批湖北省上云标杆企业申报书"));
        assert!(text.contains(&fp[..12]), "fingerprint prefix on the pages");
        assert!(text.contains(&s(&doc.answers["company_name"])));
    }
}

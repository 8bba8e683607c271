//! The 推荐表: the caller's order and reasons, the columns, the widths, the page.

use serde_json::Value;
use shenbao::docs::{
    RECOMMENDATION_COLUMNS, RecommendationRow, RecommendationSheet, recommendation_docx,
    recommendation_xlsx,
};
use shenbao::domain::region;

use super::{def, read_docx, read_xlsx, sample};

const HEADERS: [&str; 12] = [
    "序号",
    "企业名称",
    "统一社会信用代码",
    "所在县(市、区)",
    "所属行业",
    "主要上云服务",
    "近两年上云投入（万元）",
    "主要成效",
    "推荐理由",
    "推荐排序",
    "联系人",
    "联系电话",
];

/// Three applications in the city's order (not seed order), each with its reason.
fn rows() -> Vec<(Value, RecommendationRow)> {
    [
        (9u64, "两化融合贯标企业，上云成效显著；“标杆”作用明显。"),
        (4, "工业互联网平台应用深入 & 数据上云完整。"),
        (6, "第三名：<投入持续>"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (seed, reason))| {
        let a = sample(*seed);
        let r = RecommendationRow::from_answers(def(), &a, reason, i as u32 + 1);
        (a, r)
    })
    .collect()
}

#[test]
fn a_row_is_derived_from_the_answers() {
    let (a, r) = &rows()[0];
    assert_eq!(r.enterprise_name, a["company_name"].as_str().unwrap());
    assert_eq!(r.credit_code, a["credit_code"].as_str().unwrap());
    let county = region::county(
        a["region"]["city"].as_str().unwrap(),
        a["region"]["county"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(r.county, county.name);
    assert!(
        r.industry
            .starts_with(a["industry"]["choice"].as_str().unwrap())
    );
    let platform = a["cloud_services"]["platform"]["service_name"]
        .as_str()
        .unwrap();
    assert!(
        r.cloud_services.split('；').any(|x| x == platform),
        "{}",
        r.cloud_services
    );
    assert_eq!(r.cloud_spend, a["cloud_spend"].as_str().unwrap());
    assert!(r.effects.starts_with(&format!(
        "上云后年节约成本{}万元",
        a["cost_saving"].as_str().unwrap()
    )));
    assert!(r.effects.chars().count() <= 160, "{}", r.effects);
    assert_eq!(r.contact, a["contact_name"].as_str().unwrap());
    assert_eq!(r.phone, a["contact_mobile"].as_str().unwrap());
}

#[test]
fn the_docx_keeps_the_callers_order_and_reasons() {
    let rows = rows();
    let list: Vec<RecommendationRow> = rows.iter().map(|r| r.1.clone()).collect();
    let sheet = RecommendationSheet {
        recommender: "襄阳市经济和信息化局",
        date: "2021年9月18日",
        rows: &list,
    };
    let d = read_docx(&recommendation_docx(def(), &sheet));
    let ps = d.paragraphs();
    assert_eq!(ps[0], "第二批湖北省上云标杆企业申报推荐表");
    assert!(
        ps[1].contains("推荐单位（盖章）：襄阳市经济和信息化局")
            && ps[1].contains("日期：2021年9月18日"),
        "{}",
        ps[1]
    );
    let t = d.rows(0);
    let head: Vec<&str> = t[0].iter().map(|c| c.text.as_str()).collect();
    assert_eq!(head, HEADERS);
    assert_eq!(t.len(), 4);
    for (i, (_, r)) in rows.iter().enumerate() {
        let got: Vec<String> = t[i + 1].iter().map(|c| c.text.clone()).collect();
        assert_eq!(got, r.cells(i + 1).to_vec(), "row {}", i + 1);
        assert_eq!(got[8], r.reason);
        assert_eq!(got[9], (i + 1).to_string());
    }
    // Explicit widths, A4 landscape.
    let grid: Vec<u64> = d.0["tables"][0]["grid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_u64().unwrap())
        .collect();
    let want: Vec<u64> = RECOMMENDATION_COLUMNS.iter().map(|c| c.1 as u64).collect();
    assert_eq!(grid, want);
    assert_eq!(d.0["page"]["width"], 16838);
    assert_eq!(d.0["page"]["landscape"], true);
}

#[test]
fn the_xlsx_keeps_the_callers_order_and_reasons() {
    let rows = rows();
    let list: Vec<RecommendationRow> = rows.iter().map(|r| r.1.clone()).collect();
    let sheet = RecommendationSheet {
        recommender: "",
        date: "",
        rows: &list,
    };
    let x = read_xlsx(&recommendation_xlsx(def(), &sheet));
    let ws = &x["推荐表"];
    let cells = ws["rows"].as_array().unwrap();
    assert_eq!(cells[0][0], "第二批湖北省上云标杆企业申报推荐表");
    assert!(
        cells[1][0]
            .as_str()
            .unwrap()
            .starts_with("推荐单位（盖章）：")
    );
    assert_eq!(cells[1][7], "日期：　　　　年　　月　　日");
    let head: Vec<&str> = cells[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(head, HEADERS);
    for (i, (a, r)) in rows.iter().enumerate() {
        let row = cells[3 + i].as_array().unwrap();
        assert_eq!(row[0], i as u64 + 1);
        assert_eq!(row[1], r.enterprise_name.as_str());
        assert_eq!(
            row[2],
            a["credit_code"].as_str().unwrap(),
            "credit code kept as text"
        );
        let spend: f64 = r.cloud_spend.parse().unwrap();
        assert!(
            (row[6].as_f64().unwrap() - spend).abs() < 1e-9,
            "投入 as a number"
        );
        assert_eq!(row[7], r.effects.as_str());
        assert_eq!(row[8], r.reason.as_str(), "Chinese round-trips exactly");
        assert_eq!(row[9], i as u64 + 1);
        assert_eq!(row[11], r.phone.as_str(), "phone kept as text");
    }
    assert!(
        ws["merged"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "A1:L1")
    );
    // Widths are ours (Chinese counts two), not autofit's.
    let letters = "ABCDEFGHIJKL";
    for (i, c) in RECOMMENDATION_COLUMNS.iter().enumerate() {
        let w = ws["widths"][&letters[i..i + 1]].as_f64().unwrap();
        assert!(
            (w - c.2).abs() < 0.75,
            "column {} width {w} vs {}",
            c.0,
            c.2
        );
    }
    assert_eq!(ws["orientation"], "landscape");
    assert_eq!(ws["paper_size"], 9);
    assert_eq!(ws["print_title_rows"], "$3:$3");
}

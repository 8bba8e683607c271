//! Tests: each validation rule with a good and a bad value, starting from a
//! valid sample application.

use jiff::civil::date;
use serde_json::{Value, json};

use super::tests::TODAY;
use super::*;

fn base() -> Value {
    sample_answers_on(11, TODAY)
}

fn check(a: &Value) -> Report {
    validate(&ProgramDef::builtin().form, a, TODAY)
}

/// The error messages at exactly `path`.
fn errors_at(a: &Value, path: &str) -> Vec<String> {
    check(a)
        .errors
        .into_iter()
        .filter(|i| i.field == path)
        .map(|i| i.message)
        .collect()
}

fn warnings_at(a: &Value, path: &str) -> Vec<String> {
    check(a)
        .warnings
        .into_iter()
        .filter(|i| i.field == path)
        .map(|i| i.message)
        .collect()
}

fn ok(a: &Value) {
    let r = check(a);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn required_text_and_length() {
    let mut a = base();
    a["company_name"] = json!("  ");
    assert_eq!(errors_at(&a, "company_name"), ["请填写企业名称"]);
    a["company_name"] = json!("字".repeat(101));
    assert_eq!(
        errors_at(&a, "company_name"),
        ["企业名称不能超过100字（当前101字）"]
    );
    a["company_name"] = json!("字".repeat(100));
    ok(&a);
}

#[test]
fn industry_other_needs_text() {
    let mut a = base();
    a["industry"] = json!({"choice": "其它", "other": ""});
    assert_eq!(
        errors_at(&a, "industry.other"),
        ["所属行业选择“其它”时，请注明具体内容"]
    );
    a["industry"] = json!({"choice": "其它", "other": "环保装备"});
    ok(&a);
    a["industry"] = json!("机械");
    ok(&a);
    a["industry"] = json!("农业");
    assert_eq!(errors_at(&a, "industry"), ["“农业”不是所属行业的可选项"]);
    a["industry"] = Value::Null;
    assert_eq!(errors_at(&a, "industry"), ["请选择所属行业"]);
}

#[test]
fn dates_not_in_future_and_honours_within_three_years() {
    let mut a = base();
    a["founded"] = json!("2021-09-11");
    assert_eq!(
        errors_at(&a, "founded"),
        ["成立时间不能晚于今天（2021-09-10）"]
    );
    a["founded"] = json!("2021-09-10");
    ok(&a);
    a["founded"] = json!("2021-02-30");
    assert!(errors_at(&a, "founded")[0].starts_with("成立时间应为有效日期"));
    a["founded"] = json!("2008/5/6");
    ok(&a);

    // 近3年 counts back from the batch's reference date (2021-09-07), not
    // from the day of filling in.
    a["honours"] =
        json!([{"name": "湖北省智能制造试点示范项目", "level": "省级", "date": "2018-09-06"}]);
    assert_eq!(
        errors_at(&a, "honours.0.date"),
        ["获得时间应在近3年内（不早于2018-09-07）"]
    );
    a["honours"][0]["date"] = json!("2018-09-07");
    ok(&a);
}

/// The 2021 batch filled in years later (a late review, a re-check, the
/// demo on today's clock): honours of 2019-12 and 2020-06 still count as
/// 近三年, and the finance years and audit-report years stay 2018–2020.
#[test]
fn year_rules_count_from_the_batch_reference_date_not_from_today() {
    let form = &ProgramDef::builtin().form;
    assert_eq!(form.reference_date, date(2021, 9, 7));
    let mut a = base();
    a["honours"] = json!([
        {"name": "湖北省智能制造试点示范项目", "level": "省级", "date": "2019-12-01"},
        {"name": "湖北省两化融合示范企业", "level": "省级", "date": "2020-06-15"}
    ]);
    let later = date(2026, 12, 6);
    let report = validate(form, &a, later);
    assert!(
        report
            .errors
            .iter()
            .all(|e| !e.field.starts_with("honours")),
        "{:?}",
        report.errors
    );
    let finance = form
        .fields()
        .find(|f| f.key == "finance")
        .expect("finance table");
    let FieldKind::FixedTable(t) = &finance.kind else {
        panic!("finance is a fixed table");
    };
    let years: Vec<_> = t
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.label.as_str()))
        .collect();
    assert_eq!(
        years,
        [("2018", "2018年"), ("2019", "2019年"), ("2020", "2020年")]
    );
    let audit = form
        .attachments()
        .find(|s| s.key == "audit_reports")
        .expect("audit reports slot");
    assert_eq!(audit.per_year, ["2019", "2020"]);
    assert_eq!(audit.hint.as_deref(), Some("2019年度、2020年度各一份"));
}

/// The next batch moves every year with its reference date, from the same
/// form.toml.
#[test]
fn another_reference_year_moves_the_finance_and_audit_years() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("programs/hubei-cloud-benchmark-2021");
    let program = std::fs::read_to_string(dir.join("program.toml"))
        .expect("program.toml")
        .replace(
            "reference_date = \"2021-09-07\"",
            "reference_date = \"2024-03-01\"",
        );
    let form_toml = std::fs::read_to_string(dir.join("form.toml")).expect("form.toml");
    let def = ProgramDef::from_sources(&program, &form_toml).expect("valid");
    let audit = def
        .form
        .attachments()
        .find(|s| s.key == "audit_reports")
        .expect("audit reports slot");
    assert_eq!(audit.per_year, ["2022", "2023"]);
    let mut a = base();
    a["honours"] =
        json!([{"name": "湖北省智能制造试点示范项目", "level": "省级", "date": "2021-02-28"}]);
    assert_eq!(
        validate(&def.form, &a, date(2024, 5, 1))
            .errors
            .iter()
            .filter(|e| e.field == "honours.0.date")
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        ["获得时间应在近3年内（不早于2021-03-01）"]
    );
}

#[test]
fn honour_rows_started_must_be_complete_and_empty_rows_are_ignored() {
    let mut a = base();
    a["honours"] = json!([
        {"name": "", "level": "", "date": ""},
        {"name": "市级数字化车间", "level": null, "date": ""},
        {},
    ]);
    let r = check(&a);
    let at: Vec<&str> = r.errors.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(at, ["honours.1.level", "honours.1.date"]);
    assert_eq!(r.errors[0].label, "企业荣誉 › 第2行 › 级别");
    assert_eq!(r.errors[0].message, "请选择级别");
    a["honours"][1]["level"] = json!("特级");
    assert_eq!(errors_at(&a, "honours.1.level"), ["“特级”不是级别的可选项"]);
    a["honours"] = json!([]);
    ok(&a); // honours are optional
}

#[test]
fn finance_decimals_bounds_and_warnings() {
    let mut a = base();
    a["finance"]["2019"]["total_assets"] = json!("100.123");
    assert_eq!(
        errors_at(&a, "finance.2019.total_assets"),
        ["总资产最多保留2位小数"]
    );
    a["finance"]["2019"]["total_assets"] = json!("-1");
    assert_eq!(
        errors_at(&a, "finance.2019.total_assets"),
        ["总资产不能小于0万元"]
    );
    a["finance"]["2019"]["total_assets"] = json!("一百万");
    assert_eq!(
        errors_at(&a, "finance.2019.total_assets"),
        ["总资产应填写数字，如 1234.56（当前为“一百万”）"]
    );
    a["finance"]["2019"]["total_assets"] = json!("100.12");
    ok(&a);

    a["finance"]["2020"]["it_staff"] = json!("12.5");
    assert_eq!(
        errors_at(&a, "finance.2020.it_staff"),
        ["信息技术人员应为整数"]
    );
    a["finance"]["2020"]["it_staff"] = json!(12);
    ok(&a);

    a["finance"]["2018"]["debt_ratio"] = json!("120.5");
    let r = check(&a);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        warnings_at(&a, "finance.2018.debt_ratio"),
        ["资产负债率为120.5%，超过100%，请核对是否填写正确"]
    );
    a["finance"]["2018"]["debt_ratio"] = json!("-3");
    assert_eq!(
        errors_at(&a, "finance.2018.debt_ratio"),
        ["资产负债率不能小于0%"]
    );
    a["finance"]["2018"]["debt_ratio"] = json!("100");
    assert!(check(&a).warnings.is_empty());

    a["finance"]["2018"]["tax"] = json!("");
    let r = check(&a);
    assert_eq!(r.errors[0].field, "finance.2018.tax");
    assert_eq!(r.errors[0].label, "主要财务指标 › 2018年 › 税金（万元）");
    assert_eq!(r.errors[0].message, "请填写税金");
}

#[test]
fn cloud_spend_must_be_positive() {
    let mut a = base();
    a["cloud_spend"] = json!("0");
    assert_eq!(
        errors_at(&a, "cloud_spend"),
        ["近两年上云总费用应大于0万元"]
    );
    a["cloud_spend"] = json!("0.01");
    ok(&a);
}

#[test]
fn profit_may_be_negative_but_not_above_revenue() {
    let mut a = base();
    a["finance"]["2019"]["profit"] = json!("-250.5");
    ok(&a);
    assert!(check(&a).warnings.is_empty());
    a["finance"]["2019"]["revenue"] = json!("100");
    a["finance"]["2019"]["profit"] = json!("100.01");
    assert!(check(&a).errors.is_empty());
    assert_eq!(
        warnings_at(&a, "finance.2019.profit"),
        ["2019年：利润大于同年主营业务收入，请核对"]
    );
}

#[test]
fn cloud_services_at_least_one_and_complete_when_used() {
    let mut a = base();
    for k in ["identifier_resolution", "platform", "security"] {
        a["cloud_services"][k] = json!({"used": false, "service_name": "残留"});
    }
    assert!(errors_at(&a, "cloud_services")[0].starts_with("请至少勾选1种使用云服务类型"));
    a["cloud_services"]["security"] =
        json!({"used": "是", "service_name": "工控安全监测", "provider": "", "in_pool": null});
    let r = check(&a);
    let at: Vec<&str> = r.errors.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(
        at,
        [
            "cloud_services.security.provider",
            "cloud_services.security.in_pool"
        ]
    );
    assert_eq!(
        r.errors[0].message,
        "请填写工业互联网安全服务的云服务商名称"
    );
    a["cloud_services"]["security"]["provider"] = json!("湖北某安全公司");
    a["cloud_services"]["security"]["in_pool"] = json!(false);
    ok(&a);
}

#[test]
fn at_least_one_goal() {
    let mut a = base();
    a["cloud_goals"] = json!([]);
    assert_eq!(
        errors_at(&a, "cloud_goals"),
        ["请至少选择一项企业上云实现目标"]
    );
    a["cloud_goals"] = json!(["飞行优化"]);
    assert_eq!(
        errors_at(&a, "cloud_goals"),
        [
            "“飞行优化”不是企业上云实现目标的可选项",
            "请至少选择一项企业上云实现目标"
        ]
    );
    a["cloud_goals"] = json!(["网络安全优化"]);
    ok(&a);
}

#[test]
fn long_text_limits() {
    let mut a = base();
    a["effect_summary"] = json!("效".repeat(1001));
    assert_eq!(
        errors_at(&a, "effect_summary"),
        ["上云过程成效描述不能超过1000字（当前1001字）"]
    );
    a["effect_summary"] = json!(format!(
        "\n  {}\n\n{}  ",
        "效".repeat(500),
        "果".repeat(500)
    ));
    ok(&a);

    a["construction"] = json!("建".repeat(2999));
    assert_eq!(
        errors_at(&a, "construction"),
        ["（一）项目建设内容不少于3000字（当前2999字，还差1字）"]
    );
    a["construction"] = json!("建".repeat(3000));
    ok(&a);
    a["construction"] = json!(format!("{}\n\n{}", "建".repeat(1500), "设".repeat(1499)));
    assert_eq!(errors_at(&a, "construction").len(), 1);
}

#[test]
fn credit_codes() {
    let mut a = base();
    a["credit_code"] = json!("914200007068068820");
    assert_eq!(
        errors_at(&a, "credit_code"),
        ["统一社会信用代码校验位不正确，请核对后重新输入"]
    );
    a["credit_code"] = json!("91420000");
    assert_eq!(
        errors_at(&a, "credit_code"),
        ["请填写18位统一社会信用代码或9位组织机构代码（当前8位）"]
    );
    a["credit_code"] = json!("914200007068068827");
    ok(&a);
    a["credit_code"] = json!("70680688-2"); // legacy 组织机构代码
    ok(&a);
    a["credit_code"] = json!("706806881");
    assert_eq!(
        errors_at(&a, "credit_code"),
        ["组织机构代码校验位不正确，请核对后重新输入"]
    );
    a["credit_code"] =
        json!(crate::domain::credit_code::CreditCode::synthesize("440300", 9).as_str());
    assert!(errors_at(&a, "credit_code")[0].contains("不在湖北省"));
}

#[test]
fn contact_details() {
    let mut a = base();
    a["contact_mobile"] = json!("027-87236506");
    assert_eq!(
        errors_at(&a, "contact_mobile"),
        ["请填写11位中国大陆手机号码，如 13507162678"]
    );
    a["contact_mobile"] = json!("135 0716 2678");
    ok(&a);
    a["contact_email"] = json!("hbjxwxxhc@163");
    assert_eq!(
        errors_at(&a, "contact_email"),
        ["电子邮箱格式不正确，如 name@example.com"]
    );
    a["contact_email"] = json!("hbjxwxxhc@163.com");
    ok(&a);
}

#[test]
fn region_codes() {
    let mut a = base();
    a["region"] = json!({"city": "420100", "county": "420106"});
    ok(&a);
    a["region"] = json!({"city": "429004", "county": "429004"});
    ok(&a);
    a["region"] = json!({"city": "420100", "county": "420602"});
    assert_eq!(
        errors_at(&a, "region.county"),
        ["县（市、区）代码“420602”不属于武汉市，请重新选择"]
    );
    a["region"] = json!({"city": "440300", "county": ""});
    assert_eq!(
        errors_at(&a, "region.city"),
        ["市（州）代码“440300”不是湖北省的市州，请重新选择"]
    );
    a["region"] = json!({"city": "420100"});
    assert_eq!(
        errors_at(&a, "region.county"),
        ["请选择武汉市下属的县（市、区）"]
    );
}

#[test]
fn yes_no_and_acknowledgements() {
    let mut a = base();
    a["above_scale"] = json!("否");
    ok(&a);
    a["above_scale"] = json!("maybe");
    assert_eq!(errors_at(&a, "above_scale"), ["“规上企业”只能选择是或否"]);
    a["above_scale"] = Value::Null;
    assert_eq!(errors_at(&a, "above_scale"), ["请选择“规上企业”"]);

    let mut a = base();
    a["commitments"]["truthful"] = json!(false);
    assert_eq!(
        errors_at(&a, "commitments.truthful"),
        ["请阅读并确认：申报的所有材料均依据相关申报要求，据实提供。"]
    );
    a["commitments"]["truthful"] = json!(true);
    a["eligibility"] = json!({});
    let r = check(&a);
    // One per declaration of program.toml.
    assert_eq!(r.errors.len(), 5);
    assert_eq!(r.errors[1].field, "eligibility.industrial_enterprise");
    assert_eq!(r.errors[1].label, "申报条件声明 › 工业企业");
}

#[test]
fn drafts_and_odd_shapes_never_panic() {
    let form = &ProgramDef::builtin().form;
    let empty = validate(form, &json!({}), TODAY);
    assert!(empty.errors.len() > 20);
    assert!(empty.errors.iter().any(|i| i.field == "commitments.credit"));
    assert_eq!(
        validate(form, &Value::Null, TODAY).errors.len(),
        empty.errors.len()
    );
    assert_eq!(validate(form, &json!([1, 2]), TODAY).errors.len(), 1);
    let mut a = base();
    for k in [
        "finance",
        "honours",
        "cloud_services",
        "cloud_goals",
        "region",
        "commitments",
        "industry",
    ] {
        a[k] = json!(42);
    }
    a["finance"] = json!({"2019": "x"});
    let r = validate(form, &a, date(2021, 9, 10));
    assert!(!r.errors.is_empty());
    assert_eq!(
        r.for_field("finance").count(),
        r.errors
            .iter()
            .filter(|i| i.field.starts_with("finance"))
            .count()
    );
}

/// The change lists of the version comparison and the city's view name a
/// value by its labels, as validation messages do.
#[test]
fn answer_paths_read_as_labels() {
    let form = &ProgramDef::builtin().form;
    assert_eq!(
        form.path_label("finance.2020.profit"),
        "主要财务指标 › 2020年 › 利润（万元）"
    );
    assert_eq!(
        form.path_label("honours.0.date"),
        "企业荣誉 › 第1行 › 获得时间"
    );
    assert_eq!(form.path_label("region.city"), "所属地区 › 市（州）");
    assert_eq!(form.path_label("address"), "详细地址");
    assert_eq!(form.path_label("nonsense.1"), "nonsense.1");
    assert_eq!(
        form.path_label("finance.1999.profit"),
        "主要财务指标 › 1999.profit"
    );
}

use axum::http::StatusCode;

use crate::helpers::spawn;
use shenbao::domain::credit_code::CreditCode;

const GOOD: &str = "914200007068068827";

fn form<'a>(code: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "湖北测试云制造有限公司"),
        ("credit_code", code),
        ("county", "420106"),
        ("contact_name", "李华"),
        ("mobile", "13507162678"),
        ("email", "lihua@example.com"),
        ("password", password),
        ("password2", password),
    ]
}

#[tokio::test]
async fn registration_with_valid_hubei_code_creates_account_and_logs_in() {
    let app = spawn().await;
    let mut c = app.client();
    c.get("/register").await;
    let r = c.post("/register", &form(GOOD, "Cloud-2021-ok")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/dashboard?welcome=1");
    let d = c.get("/dashboard").await;
    assert_eq!(d.status, StatusCode::OK);
    assert!(d.body.contains("湖北测试云制造有限公司"));
    assert!(d.body.contains("武汉市 武昌区"));
    assert_eq!(app.audit_count("account.register").await, 1);

    // The credit code is the user name, in any letter case.
    let mut other = app.client();
    let r = other.login(&GOOD.to_lowercase(), "Cloud-2021-ok").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn registration_with_bad_check_character_is_refused_at_the_field() {
    let app = spawn().await;
    let mut c = app.client();
    let r = c
        .post("/register", &form("914403001922038217", "Cloud-2021-ok"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("id=\"e-credit_code\""),
        "error not tied to the field"
    );
    assert!(r.body.contains("校验位不正确"));
    // What was typed stays in the form (but never the password).
    assert!(r.body.contains("value=\"湖北测试云制造有限公司\""));
    assert!(!r.body.contains("Cloud-2021-ok"));
    assert_eq!(app.audit_count("account.register").await, 0);
}

#[tokio::test]
async fn valid_code_registered_outside_hubei_is_refused_with_reason() {
    let app = spawn().await;
    let shenzhen = CreditCode::synthesize("440300", 4242);
    let mut c = app.client();
    let r = c
        .post("/register", &form(shenzhen.as_str(), "Cloud-2021-ok"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("440300"));
    assert!(r.body.contains("不在湖北省"));
}

#[tokio::test]
async fn second_registration_of_the_same_code_is_refused() {
    let app = spawn().await;
    let mut c = app.client();
    assert_eq!(
        c.post("/register", &form(GOOD, "Cloud-2021-ok"))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let mut d = app.client();
    let r = d.post("/register", &form(GOOD, "Other-2021-ok")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("该统一社会信用代码已注册"));
}

#[tokio::test]
async fn password_rule_is_enforced_at_registration() {
    let app = spawn().await;
    for (pw, msg) in [
        ("Ab1-short", "至少需要10个字符"),
        ("abcdefghijkl", "至少三类"),
        ("X914200007068068827-a", "不能包含用户名"),
    ] {
        let mut c = app.client();
        let r = c.post("/register", &form(GOOD, pw)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{pw}");
        assert!(r.body.contains(msg), "{pw}: expected {msg}");
        assert!(r.body.contains("id=\"e-password\""));
    }
    let mut c = app.client();
    let mut f = form(GOOD, "Cloud-2021-ok");
    f[7] = ("password2", "Cloud-2021-no");
    let r = c.post("/register", &f).await;
    assert!(r.body.contains("两次输入的密码不一致"));
}

#[tokio::test]
async fn other_fields_are_checked_with_chinese_messages() {
    let app = spawn().await;
    let mut c = app.client();
    let r = c
        .post(
            "/register",
            &[
                ("name", ""),
                ("credit_code", GOOD),
                ("county", "440305"),
                ("contact_name", "李华"),
                ("mobile", "027-87236506"),
                ("email", "not-an-email"),
                ("password", "Cloud-2021-ok"),
                ("password2", "Cloud-2021-ok"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for (field, msg) in [
        ("name", "请填写企业名称"),
        ("county", "请选择企业所属的市州"),
        ("mobile", "11位中国大陆手机号码"),
        ("email", "电子邮箱格式不正确"),
    ] {
        assert!(r.body.contains(&format!("id=\"e-{field}\"")), "{field}");
        assert!(r.body.contains(msg), "{msg}");
    }
    assert!(r.body.contains("请修改以下4处问题"));
}

/// One address registers at most `registrations_per_hour` accounts an hour;
/// past it the form says why, and an hour later it may again.
#[tokio::test]
async fn registrations_from_one_address_are_limited_per_hour() {
    let app = crate::helpers::spawn_with(shenbao::config::Config {
        registrations_per_hour: 2,
        ..Default::default()
    })
    .await;
    let codes: Vec<String> = (0..3)
        .map(|i| {
            CreditCode::synthesize("420106", 7000 + i)
                .as_str()
                .to_string()
        })
        .collect();
    let office: std::net::SocketAddr = "10.200.0.1:40000".parse().unwrap();
    for code in &codes[..2] {
        let mut c = app.client();
        c.addr = office;
        let r = c.post("/register", &form(code, "Cloud-2021-ok")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let mut c = app.client();
    c.addr = office;
    let r = c.post("/register", &form(&codes[2], "Cloud-2021-ok")).await;
    assert_ne!(r.status, StatusCode::SEE_OTHER);
    assert!(r.body.contains("一小时内注册的账号已达上限"), "{}", r.body);
    assert_eq!(app.audit_count("account.register").await, 2);
    app.clock.advance(61 * 60 * 1000);
    let r = c.post("/register", &form(&codes[2], "Cloud-2021-ok")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

//! End-to-end tests in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`), against the app served on a real port over a fresh
//! database per test: a temp SQLite file, or a fresh PostgreSQL schema when
//! TEST_DATABASE_URL is set. Fields are found by their Chinese labels and
//! buttons by their text, as a person would. Screenshots are saved under
//! target/browser-screenshots/. Without the browser installed these tests fail.

mod apply;
mod batches;
mod city;
mod form_edits;
mod harness;
mod publication;
mod review;
mod uploads;

use harness::{Browser, DEMO_PASSWORD, TestApp};

const COMPANY: &str = "武汉云帆智能制造有限公司";
const GOOD_CODE: &str = "914200007068068827";
/// A Shenzhen code with a wrong check character.
const BAD_CODE: &str = "914403001922038217";
const PASSWORD: &str = "Yunfan-Cloud-2021";

/// Fills the registration form of /register as 李华 of `COMPANY` and sends it.
async fn fill_registration(b: &Browser, credit_code: &str) {
    b.goto("/register").await;
    assert_eq!(b.heading().await, "企业注册");
    b.fill("企业名称", COMPANY).await;
    b.fill("统一社会信用代码", credit_code).await;
    b.select("所属地区", "武昌区").await;
    b.fill("联系人姓名", "李华").await;
    b.fill("移动电话", "13507162678").await;
    b.fill("电子邮箱", "lihua@example.com").await;
    b.fill("密码", PASSWORD).await;
    b.fill("再次输入密码", PASSWORD).await;
    b.click("注册").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_registers_with_chinese_labels_and_lands_on_its_dashboard() {
    let app = TestApp::spawn().await;
    let b = Browser::open(
        &app,
        "enterprise_registers_with_chinese_labels_and_lands_on_its_dashboard",
    )
    .await;

    fill_registration(&b, BAD_CODE).await;

    // Refused: the message sits next to the field, and what was typed stays.
    assert_eq!(b.path().await, "/register");
    let error = b
        .field_error("统一社会信用代码")
        .await
        .expect("an error next to 统一社会信用代码");
    assert!(error.contains("校验位不正确"), "{error}");
    assert!(b.text().await.contains("请修改以下1处问题后再提交"));
    assert_eq!(b.value("企业名称").await, COMPANY);
    assert_eq!(b.value("统一社会信用代码").await, BAD_CODE);
    assert_eq!(b.value("联系人姓名").await, "李华");
    assert_eq!(b.field_error("企业名称").await, None);
    b.screenshot_step("wrong-credit-code").await;

    b.fill("统一社会信用代码", GOOD_CODE).await;
    // Passwords are never sent back to the browser: typed again.
    assert_eq!(b.value("密码").await, "");
    b.fill("密码", PASSWORD).await;
    b.fill("再次输入密码", PASSWORD).await;
    b.click("注册").await;

    assert_eq!(b.path().await, "/dashboard?welcome=1");
    assert_eq!(b.heading().await, "我的申报");
    let text = b.text().await;
    for want in [COMPANY, GOOD_CODE, "武昌区", "注册成功", "李华"] {
        assert!(text.contains(want), "dashboard lacks {want:?}:\n{text}");
    }
    b.screenshot_step("dashboard").await;

    b.click("退出登录").await;
    assert_eq!(b.path().await, "/login?bye=1");
    b.login(GOOD_CODE, PASSWORD).await;
    assert_eq!(b.path().await, "/dashboard");
    assert_eq!(b.heading().await, "我的申报");
    b.wait_for_text(COMPANY).await;
    b.screenshot().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_administrator_creates_a_city_account_which_must_change_its_password() {
    let app = TestApp::spawn_demo().await;
    let b = Browser::open(
        &app,
        "the_system_administrator_creates_a_city_account_which_must_change_its_password",
    )
    .await;

    b.login("sysadmin", DEMO_PASSWORD).await;
    assert_eq!(b.heading().await, "工作台");
    b.click("账号管理").await;
    assert_eq!(b.path().await, "/admin/users");
    b.click("新建工作人员账号").await;
    assert_eq!(b.heading().await, "新建工作人员账号");
    b.select("角色", "市州经信局").await;
    b.fill("用户名", "huangshi-xxk").await;
    b.fill("名称", "黄石市经信局信息化科").await;
    b.select("所属市州", "黄石市").await;
    b.click("创建账号").await;

    assert_eq!(b.heading().await, "账号已创建");
    let text = b.text().await;
    assert!(text.contains("账号“huangshi-xxk”已创建"), "{text}");
    let temp = text
        .split_once("临时密码：")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .expect("the temporary password on the page")
        .to_string();
    assert_eq!(temp.chars().count(), 16, "temporary password {temp:?}");
    b.screenshot_step("account-created").await;

    b.click("退出登录").await;
    b.login("huangshi-xxk", &temp).await;
    assert_eq!(b.path().await, "/account/password");
    assert_eq!(b.heading().await, "修改密码");
    b.wait_for_text("您正在使用临时密码").await;
    b.screenshot_step("must-change-password").await;
    // Nothing else opens until the password is changed.
    b.goto("/dashboard").await;
    assert_eq!(b.path().await, "/account/password");

    let new_password = "Cloud-Bureau-2021#";
    b.fill("当前密码", &temp).await;
    b.fill("新密码", new_password).await;
    b.fill("再次输入新密码", new_password).await;
    b.click("保存新密码").await;
    assert_eq!(b.path().await, "/account?changed=1");
    let stored = shenbao::store::users::by_username(&app.state.db, "huangshi-xxk")
        .await
        .expect("user query")
        .expect("the new account");
    assert!(!stored.must_change_password);
    assert_eq!(stored.city_code.as_deref(), Some("420200"));

    b.click("工作台").await;
    assert_eq!(b.path().await, "/dashboard");
    assert_eq!(b.heading().await, "工作台");
    let text = b.text().await;
    for want in ["黄石市经信局信息化科", "管辖地区：黄石市"] {
        assert!(text.contains(want), "dashboard lacks {want:?}:\n{text}");
    }
    b.screenshot().await;
    b.close().await;
}

/// Issue #20's two-factor walk: a new official enrols at the first login
/// (QR code and secret, a wrong code refused at the field, the recovery
/// codes shown once), then logs in with a recovery code and with the app's code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_official_enrols_two_factor_and_logs_in_with_a_recovery_code_and_a_code() {
    let app = TestApp::spawn_demo().await;
    let b = Browser::open(
        &app,
        "a_new_official_enrols_two_factor_and_logs_in_with_a_recovery_code_and_a_code",
    )
    .await;
    b.login("sysadmin", DEMO_PASSWORD).await;
    assert_eq!(b.heading().await, "工作台");
    b.goto("/admin/users/new").await;
    b.select("角色", "评审专家").await;
    b.fill("用户名", "expert-liu").await;
    b.fill("名称", "刘专家").await;
    b.click("创建账号").await;
    let text = b.text().await;
    let temp = text
        .split_once("临时密码：")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .expect("the temporary password on the page")
        .to_string();
    b.click("退出登录").await;

    // First login: the password, then the enrolment.
    b.goto("/login").await;
    b.fill("用户名", "expert-liu").await;
    b.fill("密码", &temp).await;
    b.click("登录").await;
    assert!(
        b.path().await.starts_with("/login/2fa"),
        "{}",
        b.path().await
    );
    assert_eq!(b.heading().await, "绑定动态口令");
    let qr = b
        .client
        .find(fantoccini::Locator::Css(".qr svg"))
        .await
        .expect("the QR code");
    let size = qr.rectangle().await.expect("QR size");
    assert!(size.2 >= 200.0 && size.3 >= 200.0, "QR code {size:?}");
    let secret = b.enrolment_secret().await.expect("secret shown");
    b.screenshot_step("enrol").await;
    // Nothing else opens yet.
    b.goto("/dashboard").await;
    assert!(b.path().await.starts_with("/login/2fa"));
    let wrong = if harness::totp_now(&secret, app.state.clock.now()) == "123456" {
        "654321"
    } else {
        "123456"
    };
    b.fill("动态验证码", wrong).await;
    b.click("完成绑定").await;
    let error = b
        .field_error("动态验证码")
        .await
        .expect("error at the field");
    assert!(error.contains("动态验证码不正确"), "{error}");
    b.fill(
        "动态验证码",
        &harness::totp_now(&secret, app.state.clock.now()),
    )
    .await;
    b.click("完成绑定").await;
    assert_eq!(b.heading().await, "保存恢复码");
    let text = b.text().await;
    assert!(text.contains("只显示这一次"), "{text}");
    let codes: Vec<String> = text
        .split_whitespace()
        .filter(|w| w.len() == 19 && w.matches('-').count() == 3)
        .map(String::from)
        .collect();
    assert_eq!(codes.len(), 10, "{text}");
    b.screenshot_step("recovery-codes").await;
    b.click("我已保存恢复码，继续").await;
    assert_eq!(b.path().await, "/account/password");
    let password = "Lx9-Ek4t-Qw7r#";
    b.fill("当前密码", &temp).await;
    b.fill("新密码", password).await;
    b.fill("再次输入新密码", password).await;
    b.click("保存新密码").await;
    assert_eq!(b.path().await, "/account?changed=1");
    b.click("退出登录").await;

    // A recovery code stands in for the phone, once.
    b.goto("/login").await;
    b.fill("用户名", "expert-liu").await;
    b.fill("密码", password).await;
    b.click("登录").await;
    assert_eq!(b.heading().await, "动态口令验证");
    b.fill("动态验证码或恢复码", &codes[0]).await;
    b.click("验证并登录").await;
    assert_eq!(b.path().await, "/account/2fa?done=recovery");
    b.wait_for_text("未使用的恢复码").await;
    assert!(b.text().await.contains("9个"), "{}", b.text().await);
    b.click("退出登录").await;

    // And the app's code (the next one: the enrolment spent this one).
    b.goto("/login").await;
    b.fill("用户名", "expert-liu").await;
    b.fill("密码", password).await;
    b.click("登录").await;
    let code = harness::totp_now(&secret, app.state.clock.now() + 30_000);
    b.fill("动态验证码或恢复码", &code).await;
    b.screenshot_step("code").await;
    b.click("验证并登录").await;
    assert_eq!(b.path().await, "/dashboard");
    assert_eq!(b.heading().await, "工作台");
    b.close().await;
}

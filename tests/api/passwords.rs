//! The password policy of issue #20: staff passwords expire (90 days by
//! default), the last five are not chosen again, and a temporary password
//! no longer logs in after 72 hours.

use axum::http::StatusCode;
use shenbao::config::DAY;

use crate::helpers::{Client, DEMO_PASSWORD, TestApp, spawn};

use crate::twofactor::create_staff;

async fn change(c: &mut Client, current: &str, new: &str) -> crate::helpers::Resp {
    c.get("/account/password").await;
    c.post(
        "/account/password",
        &[("current", current), ("password", new), ("password2", new)],
    )
    .await
}

/// A new official who enrolled and replaced the temporary password.
async fn official(app: &TestApp, username: &str, password: &str) -> Client {
    let temp = create_staff(app, "expert", username, "").await;
    let mut c = app.login(username, &temp).await;
    let r = change(&mut c, &temp, password).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    c
}

#[tokio::test]
async fn a_staff_password_must_be_changed_after_ninety_days() {
    let app = spawn().await;
    app.seed_demo().await;
    official(&app, "expert-zhao", "Zh4o-Rv8w-Kq2m").await;
    app.clock.advance(89 * DAY);
    let mut c = app.login("expert-zhao", "Zh4o-Rv8w-Kq2m").await;
    assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);
    assert_eq!(app.audit_count("password.expired").await, 0);

    app.clock.advance(2 * DAY);
    let mut c = app.client();
    let r = c.login("expert-zhao", "Zh4o-Rv8w-Kq2m").await;
    assert_eq!(r.location(), "/account/password");
    assert_eq!(app.audit_count("password.expired").await, 1);
    let r = c.get("/dashboard").await;
    assert_eq!(r.location(), "/account/password");
    let r = c.get("/account/password").await;
    assert!(r.body.contains("密码已超过有效期"), "{}", r.body);
    let r = change(&mut c, "Zh4o-Rv8w-Kq2m", "Zh4o-Rv8w-Kq3n").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn none_of_the_last_five_passwords_may_be_chosen_again() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye2", DEMO_PASSWORD).await;
    let pw = |i: usize| format!("Tq7Lw9x-Kp2v#{i}");
    let mut current = DEMO_PASSWORD.to_string();
    for i in 1..=2 {
        let r = change(&mut c, &current, &pw(i)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        current = pw(i);
    }
    // The first two and the current one are refused, at the field.
    for old in [DEMO_PASSWORD.to_string(), pw(1)] {
        let r = change(&mut c, &current, &old).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{old}");
        assert!(
            r.body.contains("不能与最近5次使用过的密码相同"),
            "{}",
            r.body
        );
    }
    for i in 3..=5 {
        let r = change(&mut c, &current, &pw(i)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        current = pw(i);
    }
    // pw(1)..pw(5) are the last five; the demo password is now the sixth.
    let r = change(&mut c, &current, &pw(1)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = change(&mut c, &current, DEMO_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn a_temporary_password_no_longer_logs_in_after_seventy_two_hours() {
    let app = spawn().await;
    app.seed_demo().await;
    let temp = create_staff(&app, "city", "yichang-chen", "420500").await;
    app.clock.advance(73 * 60 * 60 * 1000);
    let mut c = app.client();
    let r = c.login("yichang-chen", &temp).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("临时密码已超过72小时有效期"), "{}", r.body);
    assert_eq!(app.audit_count("login.refused_expired").await, 1);
    assert_ne!(c.get("/dashboard").await.status, StatusCode::OK);

    // A new one from the system administrator works (within its 72 hours).
    let id = app
        .state
        .db
        .query(
            "SELECT id FROM users WHERE username = 'yichang-chen'",
            vec![],
        )
        .await
        .expect("user")[0]
        .text(0);
    let mut p = app.login("sysadmin", DEMO_PASSWORD).await;
    p.get(&format!("/admin/users/{id}")).await;
    let r = p
        .post(&format!("/admin/users/{id}/reset-password"), &[])
        .await;
    let marker = "临时密码：<code>";
    let i = r.body.find(marker).expect("temporary password") + marker.len();
    let temp = r.body[i..i + r.body[i..].find('<').expect("end")].to_string();
    app.clock.advance(71 * 60 * 60 * 1000);
    let mut c = app.client();
    assert_eq!(
        c.login("yichang-chen", &temp).await.location(),
        "/account/password"
    );
}

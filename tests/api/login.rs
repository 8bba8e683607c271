use axum::http::StatusCode;

use crate::helpers::{DEMO_PASSWORD, spawn, spawn_with};
use shenbao::config::{Config, MINUTE};

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.client();
    for i in 1..=4 {
        let r = c.login("wuhan", "Wrong-pass-123").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body.contains(&format!("再连续输错{}次", 5 - i)),
            "{}",
            r.body
        );
    }
    let r = c.login("wuhan", "Wrong-pass-123").await;
    assert!(r.body.contains("本地址暂停登录至"), "{}", r.body);
    assert_eq!(app.audit_count("account.locked").await, 1);

    // The right password is refused while locked, from that address.
    let r = c.login("wuhan", DEMO_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("本地址暂停登录至"));
    assert_eq!(app.audit_count("login.refused_locked").await, 1);
    // The owner elsewhere is not locked out by someone else's guesses.
    let mut owner = app.client();
    assert_eq!(
        owner.login("wuhan", DEMO_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    app.clock.advance(14 * MINUTE);
    assert!(
        c.login("wuhan", DEMO_PASSWORD)
            .await
            .body
            .contains("本地址暂停登录至")
    );

    app.clock.advance(2 * MINUTE);
    let r = c.login("wuhan", DEMO_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.audit_count("login.success").await, 2);
    assert_eq!(app.audit_count("login.failure").await, 5);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut a = app.client();
    let mut b = app.client();
    let wrong = a.login("wuhan", "Wrong-pass-123").await;
    let unknown = b.login("nobody-here", "Wrong-pass-123").await;
    let msg = |body: &str| {
        let i = body.find("error-summary").expect("error shown");
        body[i..].chars().take(80).collect::<String>()
    };
    assert_eq!(msg(&wrong.body), msg(&unknown.body));
    assert_eq!(wrong.status, unknown.status);
    // Unknown names are locked out the same way.
    for _ in 0..4 {
        b.login("nobody-here", "Wrong-pass-123").await;
    }
    assert!(
        b.login("nobody-here", "x")
            .await
            .body
            .contains("本地址暂停登录至")
    );
}

/// Many failures from one address slow its attempts down (a pause that
/// doubles with each further failure, at most a minute) instead of locking
/// every account out of it for 15 minutes: an office behind one NAT shares
/// the address.
#[tokio::test]
async fn many_failures_from_one_address_slow_it_down_without_locking_it_out() {
    let app = spawn_with(Config {
        ip_failure_limit: 8,
        ..Config::default()
    })
    .await;
    app.seed_demo().await;
    let mut c = app.client();
    for i in 0..8 {
        // Different names, so no single name locks.
        let r = c.login(&format!("guess{i}"), "Wrong-pass-123").await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = c.login("wuhan", DEMO_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.body.contains("网络地址") && r.body.contains("1秒后再试"),
        "{}",
        r.body
    );
    assert_eq!(app.audit_count("login.throttled").await, 1);
    // Another address is not affected.
    let mut other = app.client();
    assert_eq!(
        other.login("wuhan", DEMO_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // After the pause a colleague behind the same address gets in.
    app.clock.advance(1_000);
    assert_eq!(
        c.login("wuhan", DEMO_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // Each further failure doubles the pause, up to a minute.
    let mut c = app.client();
    c.addr = other.addr;
    let mut guesser = app.client();
    guesser.addr = other.addr;
    for i in 0..8 {
        guesser.login(&format!("g{i}"), "Wrong-pass-123").await;
        app.clock.advance(61_000);
    }
    guesser.login("g8", "Wrong-pass-123").await;
    let r = c.login("wuhan", DEMO_PASSWORD).await;
    assert!(r.body.contains("2秒后再试"), "{}", r.body);
}

/// A name guessed at from many addresses is slowed down the same way, and
/// never locked: its owner waits the pause, then logs in.
#[tokio::test]
async fn a_name_guessed_from_many_addresses_is_slowed_not_locked() {
    let app = spawn().await;
    app.seed_demo().await;
    for _ in 0..10 {
        let mut bot = app.client();
        bot.login("wuhan", "Wrong-pass-123").await;
    }
    let mut owner = app.client();
    let r = owner.login("wuhan", DEMO_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("该账号近期登录失败次数较多"), "{}", r.body);
    // Refused attempts check nothing and do not lengthen the pause.
    for _ in 0..5 {
        let mut bot = app.client();
        bot.login("wuhan", "Wrong-pass-123").await;
    }
    app.clock.advance(1_000);
    assert_eq!(
        owner.login("wuhan", DEMO_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.audit_count("account.locked").await, 0);
}

#[tokio::test]
async fn staff_created_by_province_must_change_password_first() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut p = app.login("sysadmin", DEMO_PASSWORD).await;
    p.get("/admin/users/new").await;
    let r = p
        .post(
            "/admin/users",
            &[
                ("role", "expert"),
                ("username", "zhangsan"),
                ("display_name", "张三"),
                ("city", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let marker = "临时密码：<code>";
    let i = r.body.find(marker).expect("temporary password shown") + marker.len();
    let temp = r.body[i..i + r.body[i..].find('<').expect("end")].to_string();

    let mut z = app.client();
    let r = z.login("zhangsan", &temp).await;
    assert_eq!(r.location(), "/account/password");
    // Any other page sends them back to the password form.
    let r = z.get("/dashboard").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/account/password");
    z.get("/account/password").await;
    let r = z
        .post(
            "/account/password",
            &[
                ("current", &temp),
                ("password", "Expert-2021-new"),
                ("password2", "Expert-2021-new"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(z.get("/dashboard").await.status, StatusCode::OK);
    assert_eq!(app.audit_count("password.change").await, 1);
    assert_eq!(app.audit_count("account.create").await, 1);
}

#[tokio::test]
async fn password_change_checks_current_password_and_rule() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("expert1", DEMO_PASSWORD).await;
    c.get("/account/password").await;
    let r = c
        .post(
            "/account/password",
            &[
                ("current", "Not-the-one-1"),
                ("password", "short"),
                ("password2", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("当前密码不正确"));
    assert!(r.body.contains("至少需要10个字符"));
    let r = c
        .post(
            "/account/password",
            &[
                ("current", DEMO_PASSWORD),
                ("password", "expert1-Abc-99"),
                ("password2", "expert1-Abc-99"),
            ],
        )
        .await;
    assert!(r.body.contains("不能包含用户名"));
}

/// Guesses sent at once each count: the failure counter is incremented in
/// SQL, not read and written back, so eight parallel wrong passwords lock
/// the account (five would) instead of all writing "1 failure".
#[tokio::test]
async fn parallel_guesses_all_count_toward_the_lock_out() {
    let app = spawn().await;
    app.seed_demo().await;
    // Eight guesses at once from one address.
    let first = app.client();
    let mut cs: Vec<_> = (0..8)
        .map(|_| {
            let mut c = app.client();
            c.addr = first.addr;
            c
        })
        .collect();
    let [c1, c2, c3, c4, c5, c6, c7, c8] = &mut cs[..] else {
        unreachable!()
    };
    let guess = "Wrong-Guess-2021";
    tokio::join!(
        c1.login("wuhan", guess),
        c2.login("wuhan", guess),
        c3.login("wuhan", guess),
        c4.login("wuhan", guess),
        c5.login("wuhan", guess),
        c6.login("wuhan", guess),
        c7.login("wuhan", guess),
        c8.login("wuhan", guess),
    );
    assert_eq!(app.audit_count("account.locked").await, 1);
    let mut owner = app.client();
    owner.addr = first.addr;
    let r = owner.login("wuhan", DEMO_PASSWORD).await;
    assert_ne!(r.status, axum::http::StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.body.contains("暂停登录"), "{}", r.body);
}

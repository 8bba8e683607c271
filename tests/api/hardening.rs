//! What a hostile probe found (issue #20), each reproduced here first.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shenbao::config::Config;

use crate::helpers::{Client, DEMO_PASSWORD, spawn, spawn_with};

/// Logs in as qiye1 with `next` as the login form would post it.
async fn login_next(c: &mut Client, next: &str) -> crate::helpers::Resp {
    c.get("/login").await;
    c.post(
        "/login",
        &[
            ("username", "qiye1"),
            ("password", DEMO_PASSWORD),
            ("next", next),
        ],
    )
    .await
}

/// Finding 3: after login only a path on this site is followed; a tab or a
/// backslash that browsers drop or turn into a slash cannot reach another
/// host, and a newline is no 500.
#[tokio::test]
async fn login_follows_only_local_paths() {
    let app = spawn().await;
    app.seed_demo().await;
    for next in [
        "/\t/evil.example",
        "/\\evil.example",
        "//evil.example",
        "/\n/evil.example",
        "https://evil.example/",
        "/ /evil.example",
        "\t//evil.example",
    ] {
        let mut c = app.client();
        let r = login_next(&mut c, next).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.body);
        assert_eq!(r.location(), "/dashboard", "{next:?}");
    }
    let mut c = app.client();
    let r = login_next(&mut c, "/apply?batch=x").await;
    assert_eq!(r.location(), "/apply?batch=x");
}

/// The address the last login failure was audited under.
async fn last_failure_ip(app: &crate::helpers::TestApp) -> String {
    app.state
        .db
        .query(
            "SELECT ip FROM audit_log WHERE action = 'login.failure' ORDER BY at DESC, id DESC",
            vec![],
        )
        .await
        .expect("audit")[0]
        .text(0)
}

async fn fail_login_with(c: &mut Client, forwarded: &str) {
    c.get("/login").await;
    let token = c.csrf.clone().unwrap_or_default();
    let body = serde_urlencoded::to_string([
        ("_csrf", token.as_str()),
        ("username", "qiye1"),
        ("password", "wrong-password-1"),
    ])
    .expect("form");
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-for", forwarded)
        .body(Body::from(body))
        .expect("request");
    let r = c.send(req).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Finding 5: X-Forwarded-For is believed only from a configured proxy,
/// and then only its right-most address that is not a proxy itself.
#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_configured_proxies() {
    let config = Config {
        trusted_proxies: vec!["192.0.2.0/24".parse().expect("net")],
        ..Config::default()
    };
    let app = spawn_with(config).await;
    app.seed_demo().await;
    // A client straight to the port forges the header: ignored.
    let mut direct = app.client();
    fail_login_with(&mut direct, "198.51.100.7").await;
    assert_eq!(last_failure_ip(&app).await, direct.addr.ip().to_string());
    // Through the proxy: the client's own address, whatever it put on the left.
    let mut proxied = app.client();
    proxied.addr = "192.0.2.10:50000".parse().expect("addr");
    fail_login_with(&mut proxied, "6.6.6.6, 203.0.113.5, 192.0.2.11").await;
    assert_eq!(last_failure_ip(&app).await, "203.0.113.5");
}

/// Findings 6 and 7: the application stays with the city, name and code
/// its enterprise registered; the form cannot send it elsewhere or under
/// another name.
#[tokio::test]
async fn the_city_name_and_code_follow_the_registration() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let id = crate::apply::start(&mut c).await;
    crate::apply::fill(&app, &mut c, &id, 3).await;
    crate::apply::upload_required(&mut c, &id).await;
    let registered = app
        .state
        .db
        .query(
            "SELECT city_code, county_code, credit_code, enterprise_name FROM applications WHERE id = $1",
            vec![id.clone().into()],
        )
        .await
        .expect("row")[0]
        .clone();
    assert_eq!(registered.text(0), "420100");
    // Registered in 武汉, it picks a county of 黄石 and another name and code.
    let page = c.get(&format!("/apply/{id}")).await;
    let answers = shenbao::domain::form::sample_answers_on(3, app.state.today());
    let mut pairs = shenbao::web::form_io::pairs_from_answers(
        &shenbao::domain::form::ProgramDef::builtin().form,
        &answers,
    );
    let other_code = answers["credit_code"].as_str().expect("code").to_string();
    assert_ne!(other_code, registered.text(2));
    for (k, v) in pairs.iter_mut() {
        match k.as_str() {
            "region.county" => *v = "420202".into(),
            "company_name" => *v = "华为技术有限公司（冒用）".into(),
            _ => {}
        }
    }
    pairs.push((
        "_version".into(),
        crate::city::hidden(&page.body, "_version"),
    ));
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = c.post(&format!("/apply/{id}"), &refs).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "the draft is saved: {}",
        r.body
    );
    let now = app
        .state
        .db
        .query(
            "SELECT city_code, county_code, enterprise_name FROM applications WHERE id = $1",
            vec![id.clone().into()],
        )
        .await
        .expect("row")[0]
        .clone();
    assert_eq!(now.text(0), "420100", "the city never follows the form");
    assert_eq!(
        now.text(1),
        registered.text(1),
        "a county outside the city is not taken"
    );
    let r = crate::apply::submit(&mut c, &id).await;
    assert_ne!(r.status, StatusCode::SEE_OTHER, "submitted: {}", r.body);
    // Each message sits at its field, tied to it by id.
    let page = c.get(&format!("/apply/{id}?check=1")).await;
    for (field, text) in [
        ("company_name", "应与注册的企业名称"),
        ("credit_code", "应为注册的统一社会信用代码"),
        ("region", "应在注册所在的武汉市"),
    ] {
        // (所属地区 lists its messages in its wrapper, above the select.)
        let tag = if field == "region" {
            "id=\"w-region\"".to_string()
        } else {
            format!("id=\"e-{field}-0\"")
        };
        let at = page
            .body
            .find(&tag)
            .unwrap_or_else(|| panic!("no message at {field}"));
        assert!(
            page.body[at..at + 400].contains(text),
            "{field}: {}",
            &page.body[at..at + 400]
        );
    }
    assert_eq!(crate::city::state_of(&app, &id).await, "draft");
}

/// Finding 1: an upload form's text field is read only up to a small bound
/// (it was read whole into memory), and the body of an upload route is cut
/// off past the largest file it accepts.
#[tokio::test]
async fn upload_text_fields_and_bodies_are_bounded() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let id = crate::apply::start(&mut c).await;
    c.get(&format!("/apply/{id}")).await;
    let huge_slot = "a".repeat(3 * 1024 * 1024);
    let r = c
        .post_multipart(
            &format!("/apply/{id}/attachments"),
            &[("slot", &huge_slot)],
            Some(("file", "a.pdf", crate::apply::PDF)),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.flash() != "", "{}", r.location());
    // A body past the route's limit (the largest file and its framing).
    let big = vec![b'%'; 21 * 1024 * 1024];
    let r = c
        .post_multipart(
            &format!("/apply/{id}/attachments"),
            &[("slot", "business_license")],
            Some(("file", "big.pdf", &big)),
        )
        .await;
    assert!(
        r.status == StatusCode::SEE_OTHER || r.status == StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        r.status
    );
    assert!(r.flash() != "" || r.status == StatusCode::PAYLOAD_TOO_LARGE);
    let n = app
        .state
        .db
        .query(
            "SELECT COUNT(*) FROM attachments WHERE application_id = $1",
            vec![id.clone().into()],
        )
        .await
        .expect("count")[0]
        .int(0);
    assert_eq!(n, 0, "nothing stored");
}

/// Every file under the app's attachment store.
fn stored_files(app: &crate::helpers::TestApp) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p).map_or(0, |d| {
            d.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { walk(&p) } else { 1 }
                })
                .sum()
        })
    }
    walk(&app.state.data_dir.join("attachments"))
}

/// Finding 2: a file deleted or replaced before it was ever submitted
/// leaves the disk (upload and delete used to fill it without limit).
#[tokio::test]
async fn deleted_and_replaced_drafts_files_leave_the_disk() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let id = crate::apply::start(&mut c).await;
    c.get(&format!("/apply/{id}")).await;
    let before = stored_files(&app);
    for _ in 0..3 {
        let (status, loc) = crate::apply::upload(
            &mut c,
            &id,
            "stamped_scan",
            "盖章扫描件.pdf",
            crate::apply::PDF,
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(loc.contains("uploaded=1"), "{loc}");
    }
    // A one-file slot: each upload replaced the one before.
    assert_eq!(stored_files(&app), before + 1);
    let att = app
        .state
        .db
        .query(
            "SELECT id FROM attachments WHERE application_id = $1 AND deleted_at IS NULL",
            vec![id.clone().into()],
        )
        .await
        .expect("att")[0]
        .text(0);
    c.get(&format!("/apply/{id}")).await;
    let r = c
        .post(&format!("/apply/{id}/attachments/{att}/delete"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(stored_files(&app), before);
}

/// Finding 9: the current password on the password page cannot be guessed
/// without limit from a session someone took over: five wrong ones end the
/// session and lock the name from that address.
#[tokio::test]
async fn the_current_password_cannot_be_guessed_from_a_session() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("wuhan", DEMO_PASSWORD).await;
    for i in 0..5 {
        c.get("/account/password").await;
        let r = c
            .post(
                "/account/password",
                &[
                    ("current", "Guess-Current-1"),
                    ("password", "Yunfan-Cloud-2021"),
                    ("password2", "Yunfan-Cloud-2021"),
                ],
            )
            .await;
        if i < 4 {
            assert!(r.body.contains("当前密码不正确"), "{}", r.body);
        } else {
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert!(r.location().starts_with("/login?locked=1"));
        }
    }
    assert_eq!(app.audit_count("account.locked").await, 1);
    let r = c.get("/account").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the session ended");
    let r = c.login("wuhan", DEMO_PASSWORD).await;
    assert!(r.body.contains("本地址暂停登录至"), "{}", r.body);
}

/// Finding 9: weak passwords that pass the character classes are refused.
#[tokio::test]
async fn common_and_keyboard_passwords_are_refused() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("wuhan", DEMO_PASSWORD).await;
    for weak in ["Password123", "P@ssw0rd2026", "1qaz@WSX3edc"] {
        c.get("/account/password").await;
        let r = c
            .post(
                "/account/password",
                &[
                    ("current", DEMO_PASSWORD),
                    ("password", weak),
                    ("password2", weak),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
        assert!(r.body.contains("密码容易被猜到"), "{weak}");
    }
}

/// A stored draft is bounded: an oversized save is refused with the limit
/// named, and the saved version stays as it was.
#[tokio::test]
async fn drafts_are_bounded_in_size() {
    let app = spawn_with(Config {
        max_draft_bytes: 20_000,
        ..Default::default()
    })
    .await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let id = crate::apply::start(&mut c).await;
    let big = "云".repeat(10_000);
    let r = c
        .post(
            &format!("/apply/{id}"),
            &[("_version", "1"), ("overview", &big)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("申报书内容过大"), "{}", r.body);
    let (version, _) = shenbao::store::applications::content(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(version, 1);
    let small = "云".repeat(1_000);
    let r = c
        .post(
            &format!("/apply/{id}"),
            &[("_version", "1"), ("overview", &small)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// Every answer names its request (`x-request-id`, the one a proxy sent
/// or a new one), so a user's report and the server's log meet.
#[tokio::test]
async fn every_answer_carries_a_request_id_kept_from_the_proxy() {
    let app = spawn().await;
    let mut c = app.client();
    let r = c.get("/").await;
    let id = r
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id")
        .to_string();
    // This process's random prefix and a count (`web::RequestIds`).
    let (prefix, n) = id.split_once('-').expect("prefix-count");
    assert!(
        prefix.len() == 12 && prefix.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert!(n.parse::<u64>().is_ok(), "{id}");
    let again = c.get("/").await;
    assert_ne!(again.headers.get("x-request-id").unwrap(), id.as_str());
    let r = c
        .send(
            Request::get("/")
                .header("x-request-id", "nginx-7f3a")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.headers.get("x-request-id").unwrap(), "nginx-7f3a");
}

/// Server-wide bounds (tower-http): a body declared longer than the
/// largest upload route reads is refused before any route sees it, on any
/// route, logged in or not.
#[tokio::test]
async fn a_body_over_the_server_ceiling_is_refused_before_any_route() {
    let app = spawn().await;
    let mut c = app.client();
    let ceiling = shenbao::web::shared::upload::upload_drain_limit(
        shenbao::config::Config::default().max_file_bytes,
    );
    for path in ["/login", "/register", "/apply/x/attachments"] {
        let r = c
            .send(
                Request::post(path)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("content-length", (ceiling + 1).to_string())
                    .body(Body::from("username=a"))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    }
}

/// Issue #20, finding 9: a request refused for its role is in the audit
/// trail (who, what, from where), not only in the answer.
#[tokio::test]
async fn a_request_refused_for_its_role_is_audited() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut e = app.login("qiye1", DEMO_PASSWORD).await;
    assert_eq!(app.audit_count("access.refused").await, 0);
    let r = e.get("/province/batches").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = e
        .post("/city/name-changes/x", &[("action", "approve")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let rows = app
        .state
        .db
        .query(
            "SELECT actor_name, target, detail, outcome FROM audit_log WHERE action = 'access.refused' ORDER BY at",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].text(0), "qiye1");
    assert_eq!(rows[0].text(1), "/province/batches");
    assert_eq!(rows[0].text(2), "GET");
    assert_eq!(rows[0].text(3), "failure");
    assert_eq!(rows[1].text(2), "POST");
}

use axum::http::{StatusCode, header};

use crate::apply::{start, submitted};
use crate::helpers::{DEMO_PASSWORD, spawn};

#[tokio::test]
async fn the_blank_template_is_public_and_is_a_word_file() {
    let app = spawn().await;
    let mut anon = app.client();
    let r = anon.get("/forms/blank.docx").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.starts_with("PK"), "a .docx is a zip");
    let cd = r
        .headers
        .get(header::CONTENT_DISPOSITION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains("filename*=UTF-8''"));
}

#[tokio::test]
async fn the_application_document_follows_the_application_permissions() {
    let app = spawn().await;
    app.seed_demo().await;
    // A draft: the owner gets it marked as draft.
    let mut d = app.login("qiye3", DEMO_PASSWORD).await;
    let draft = start(&mut d).await;
    let r = d.get(&format!("/apply/{draft}/document.docx")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.starts_with("PK"));
    let cd = r
        .headers
        .get(header::CONTENT_DISPOSITION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains(&shenbao::web::shared::error::urlencode("（草稿）")));
    // Submitted: its city may download it, another city and another enterprise may not.
    let (_, id) = submitted(&app, "qiye1", 21).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    assert_eq!(
        wuhan
            .get(&format!("/apply/{id}/document.docx"))
            .await
            .status,
        StatusCode::OK
    );
    let mut yichang = app.login("yichang", DEMO_PASSWORD).await;
    assert_eq!(
        yichang
            .get(&format!("/apply/{id}/document.docx"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        d.get(&format!("/apply/{id}/document.docx")).await.status,
        StatusCode::NOT_FOUND
    );
    let mut anon = app.client();
    assert_eq!(
        anon.get(&format!("/apply/{id}/document.docx")).await.status,
        StatusCode::SEE_OTHER
    );
}

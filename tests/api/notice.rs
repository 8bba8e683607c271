//! The public notice of a batch (/tongzhi/{batch}), its Atom feed, the archive
//! of all batches, the blank forms it offers and the home page's links.

use atom_syndication::Feed;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use shenbao::store::publication::{self as ps, Publicity};
use shenbao::store::{Batch, batches};

use crate::helpers::{Client, Resp, START, TestApp, spawn};

const BATCH: &str = "hubei-cloud-benchmark-2021";
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn header_of(r: &Resp, name: header::HeaderName) -> &str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn get_if_none_match(c: &mut Client, path: &str, etag: &str) -> Resp {
    c.send(
        Request::get(path)
            .header(header::IF_NONE_MATCH, etag)
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

/// Opens the batch's 公示 as a row, as the province's publication would.
async fn open_publicity(app: &TestApp, opened_at: i64) {
    let mut b = Batch::new();
    ps::open(
        &mut b,
        &Publicity {
            batch_id: BATCH.into(),
            starts_on: "2021-09-28".into(),
            ends_on: "2021-10-09".into(),
            start_at: opened_at + DAY,
            end_at: opened_at + 10 * DAY,
            working_days: 5,
            opened_at,
            opened_by: "province".into(),
            final_doc_number: None,
            final_date: None,
            final_at: None,
            final_list: None,
            final_fingerprint: None,
        },
    );
    app.state.db.write(b).await.expect("open publicity");
}

async fn publish_final(app: &TestApp, at: i64) {
    let mut b = Batch::new();
    ps::finalize(
        &mut b,
        BATCH,
        "鄂经信函〔2021〕99号",
        "2021-10-15",
        r#"{"enterprises":[]}"#,
        "00",
        "province",
        at,
    );
    app.state.db.write(b).await.expect("final list");
}

fn feed_of(r: &Resp) -> Feed {
    r.body.parse::<Feed>().expect("the feed parses as Atom")
}

#[tokio::test]
async fn notice_page_shows_the_text_contacts_deadlines_and_downloads() {
    let app = spawn().await;
    // 武汉市 has its own enterprise deadline.
    let wuhan = START + 3 * DAY;
    let mut b = Batch::new();
    batches::set_city_deadline(&mut b, BATCH, "420100", wuhan);
    app.state.db.write(b).await.expect("city deadline");

    let mut c = app.client();
    let r = c.get(&format!("/tongzhi/{BATCH}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(header_of(&r, header::CONTENT_TYPE).starts_with("text/html"));
    for text in [
        // The header and the text's key sentences.
        "湖北省经济和信息化厅办公室",
        "鄂经信办函〔2021〕75号",
        "<h1>省经信厅办公室关于组织申报第二批湖北省上云标杆企业的通知</h1>",
        "各市、州、直管市、林区经信局，有关企业：",
        "<h2>一、工作目标</h2>",
        "在全省范围内遴选50家上云标杆企业",
        "信用良好且无违法记录的工业企业。",
        "已经成为湖北省上云标杆企业的不再申报。",
        "于2021年9月20日前",
        "并及时通过网上平台进行公示，确保标杆遴选工作的公平、公正。",
        "2021年9月7日",
        // Contacts.
        "徐丽萍 027-87236506",
        "黄荣辉 13507162678",
        "hbjxwxxhc@163.com",
        "武汉市武昌区水果湖省委大院内",
        // Deadlines: the province's, the batch's default, a city's own.
        "2021年9月20日 23:59",
        "<td>黄石市</td><td>2021年9月15日 17:00</td>",
        "<td>武汉市</td><td>2021年9月13日 10:00（本市州另行确定）</td>",
        // Downloads and the feed.
        "href=\"/forms/blank.docx\"",
        "href=\"/forms/recommendation.docx\"",
        "href=\"/forms/recommendation.xlsx\"",
        "<link rel=\"alternate\" type=\"application/atom+xml\"",
        "href=\"/tongzhi/hubei-cloud-benchmark-2021/feed.atom\"",
        "href=\"/tongzhi\"",
    ] {
        assert!(r.body.contains(text), "missing {text}");
    }
    // OCR spacing is gone; the stray footer after the date is not text.
    assert!(!r.body.contains("湖北省 上云"));
    assert!(!r.body.contains("2021 年"));
    // Nothing published yet: no links to a 公示 or 公告.
    assert!(!r.body.contains("/gongshi/"));
    assert!(!r.body.contains("/gonggao/"));
    // The same for every visitor: no form token, no cookie.
    assert!(!r.body.contains("_csrf"));
    assert!(r.headers.get(header::SET_COOKIE).is_none());

    for (path, mime) in [
        (
            "/forms/blank.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "/forms/recommendation.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "/forms/recommendation.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ] {
        let d = c.get(path).await;
        assert_eq!(d.status, StatusCode::OK, "{path}");
        assert_eq!(header_of(&d, header::CONTENT_TYPE), mime, "{path}");
        assert!(d.body.starts_with("PK"), "{path} is a zip package");
        assert!(
            header_of(&d, header::CONTENT_DISPOSITION).starts_with("attachment"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn notice_page_links_the_publicity_and_the_final_list_once_they_exist() {
    let app = spawn().await;
    let mut c = app.client();
    open_publicity(&app, START + 20 * DAY).await;
    let r = c.get(&format!("/tongzhi/{BATCH}")).await;
    assert!(
        r.body
            .contains("href=\"/gongshi/hubei-cloud-benchmark-2021\"")
    );
    assert!(r.body.contains("公示期 2021-09-28 至 2021-10-09"));
    assert!(!r.body.contains("/gonggao/"));

    publish_final(&app, START + 35 * DAY).await;
    let r = c.get(&format!("/tongzhi/{BATCH}")).await;
    assert!(
        r.body
            .contains("href=\"/gonggao/hubei-cloud-benchmark-2021\"")
    );
    assert!(r.body.contains("鄂经信函〔2021〕99号，2021年10月15日"));
}

#[tokio::test]
async fn feed_has_the_notice_then_the_publicity_and_the_final_list() {
    let app = spawn().await;
    let mut c = app.client();
    let path = format!("/tongzhi/{BATCH}/feed.atom");

    let r = c.get(&path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        header_of(&r, header::CONTENT_TYPE),
        "application/atom+xml; charset=utf-8"
    );
    let feed = feed_of(&r);
    assert_eq!(feed.title().as_str(), "第二批湖北省上云标杆企业通知公告");
    assert!(feed.id().starts_with("urn:uuid:"));
    assert!(
        feed.links()
            .iter()
            .any(|l| l.rel() == "self" && l.href() == path)
    );
    assert_eq!(feed.entries().len(), 1);
    let notice = &feed.entries()[0];
    assert_eq!(
        notice.title().as_str(),
        "省经信厅办公室关于组织申报第二批湖北省上云标杆企业的通知"
    );
    assert!(notice.id().starts_with("urn:uuid:"));
    assert_eq!(
        notice.links()[0].href(),
        "/tongzhi/hubei-cloud-benchmark-2021"
    );
    assert_eq!(notice.updated().to_rfc3339(), "2021-09-07T00:00:00+08:00");
    let text = notice.content().and_then(|c| c.value()).expect("full text");
    assert!(text.contains("在全省范围内遴选50家上云标杆企业"));
    assert!(
        notice
            .summary()
            .is_some_and(|s| s.as_str().contains("鄂经信办函〔2021〕75号"))
    );

    // 2021-09-30 10:00 Asia/Shanghai.
    open_publicity(&app, START + 20 * DAY).await;
    let feed = feed_of(&c.get(&path).await);
    assert_eq!(feed.entries().len(), 2);
    let gongshi = &feed.entries()[0];
    assert_eq!(
        gongshi.title().as_str(),
        "第二批湖北省上云标杆企业拟入选名单公示"
    );
    assert_eq!(
        gongshi.links()[0].href(),
        "/gongshi/hubei-cloud-benchmark-2021"
    );
    assert_eq!(gongshi.updated().to_rfc3339(), "2021-09-30T10:00:00+08:00");
    assert_eq!(feed.updated(), gongshi.updated());
    assert_ne!(gongshi.id(), notice.id());
    // Ids are permanent: the notice's is the same after the 公示 opened.
    assert_eq!(feed.entries()[1].id(), notice.id());

    publish_final(&app, START + 35 * DAY).await;
    let feed = feed_of(&c.get(&path).await);
    let titles: Vec<&str> = feed.entries().iter().map(|e| e.title().as_str()).collect();
    assert_eq!(
        titles,
        [
            "关于公布第二批湖北省上云标杆企业名单的通知",
            "第二批湖北省上云标杆企业拟入选名单公示",
            "省经信厅办公室关于组织申报第二批湖北省上云标杆企业的通知",
        ]
    );
    assert_eq!(
        feed.entries()[0].links()[0].href(),
        "/gonggao/hubei-cloud-benchmark-2021"
    );
}

#[tokio::test]
async fn archive_lists_every_batch_newest_first() {
    let app = spawn().await;
    let program = &app.state.program.program;
    batches::ensure(
        &app.state.db,
        &[batches::demo_of(program, START + 30 * DAY)],
        START,
    )
    .await
    .expect("demo batch");
    let mut c = app.client();
    let r = c.get("/tongzhi").await;
    assert_eq!(r.status, StatusCode::OK);
    let demo = r
        .body
        .find("href=\"/tongzhi/demo-hubei-cloud-benchmark-2021\"")
        .expect("demo batch listed");
    let real = r
        .body
        .find("href=\"/tongzhi/hubei-cloud-benchmark-2021\"")
        .expect("2021 batch listed");
    assert!(demo < real, "newest first");
    assert!(r.body.contains("鄂经信办函〔2021〕75号"));
    assert!(r.body.contains("2021-09-07"));
    assert!(!r.body.contains("/gongshi/hubei-cloud-benchmark-2021"));

    open_publicity(&app, START + 20 * DAY).await;
    let r = c.get("/tongzhi").await;
    assert!(
        r.body
            .contains("href=\"/gongshi/hubei-cloud-benchmark-2021\"")
    );

    // The demo batch's page says its dates differ from the notice's.
    let r = c.get("/tongzhi/demo-hubei-cloud-benchmark-2021").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("本批次为演示批次"));
}

#[tokio::test]
async fn notice_pages_are_cached_and_revalidated_by_etag() {
    let app = spawn().await;
    let mut c = app.client();
    for path in [
        format!("/tongzhi/{BATCH}"),
        format!("/tongzhi/{BATCH}/feed.atom"),
        "/tongzhi".to_string(),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(
            header_of(&r, header::CACHE_CONTROL),
            "public, max-age=60",
            "{path}"
        );
        assert!(r.headers.get(header::SET_COOKIE).is_none(), "{path}");
        let etag = header_of(&r, header::ETAG).to_string();
        assert!(etag.starts_with('"') && etag.len() > 10, "{path}: {etag}");

        let again = get_if_none_match(&mut c, &path, &etag).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.body.is_empty(), "{path}");
        assert_eq!(header_of(&again, header::ETAG), etag, "{path}");
        let weak = get_if_none_match(&mut c, &path, &format!("\"x\", W/{etag}")).await;
        assert_eq!(weak.status, StatusCode::NOT_MODIFIED, "{path}");
        let other = get_if_none_match(&mut c, &path, "\"something-else\"").await;
        assert_eq!(other.status, StatusCode::OK, "{path}");
    }

    // Opening the 公示 changes the page, so the old ETag no longer matches.
    let path = format!("/tongzhi/{BATCH}");
    let etag = header_of(&c.get(&path).await, header::ETAG).to_string();
    open_publicity(&app, START + 20 * DAY).await;
    let r = get_if_none_match(&mut c, &path, &etag).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(header_of(&r, header::ETAG), etag);
}

#[tokio::test]
async fn unknown_batch_has_no_notice_or_feed() {
    let app = spawn().await;
    let mut c = app.client();
    assert_eq!(
        c.get("/tongzhi/no-such-batch").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/tongzhi/no-such-batch/feed.atom").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn home_links_the_current_batch_notice_publicity_and_final_list() {
    let app = spawn().await;
    let mut c = app.client();
    let r = c.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .contains("href=\"/tongzhi/hubei-cloud-benchmark-2021\"")
    );
    assert!(r.body.contains("href=\"/tongzhi\""));
    assert!(r.body.contains("市州推荐截止 2021年9月20日 23:59"));
    assert!(r.body.contains("href=\"/forms/recommendation.xlsx\""));
    assert!(!r.body.contains("/gongshi/"));

    open_publicity(&app, START + 20 * DAY).await;
    let r = c.get("/").await;
    assert!(
        r.body
            .contains("href=\"/gongshi/hubei-cloud-benchmark-2021\"")
    );
    assert!(!r.body.contains("/gonggao/"));

    publish_final(&app, START + 35 * DAY).await;
    let r = c.get("/").await;
    assert!(
        r.body
            .contains("href=\"/gonggao/hubei-cloud-benchmark-2021\"")
    );
}

/// The home page kept for visitors who are not logged in is theirs only: a
/// logged-in user's home page names the way in, and the kept one does not.
#[tokio::test]
async fn the_kept_home_page_is_served_only_to_visitors_not_logged_in() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut anon = app.client();
    let first = anon.get("/").await;
    assert!(first.body.contains("href=\"/register\""), "{}", first.body);
    assert!(!first.body.contains("进入工作台"));
    let mut user = app.login("qiye1", crate::helpers::DEMO_PASSWORD).await;
    let r = user.get("/").await;
    assert!(r.body.contains("进入工作台"), "{}", r.body);
    assert!(!r.body.contains("href=\"/register\""));
    let again = app.client().get("/").await;
    assert_eq!(
        again.body, first.body,
        "every anonymous visitor, the same bytes"
    );
}

//! Issue #21 in the browser: an upload neither loses what was just typed
//! nor its own answer; a file too large for its slot is refused at the slot
//! before it is sent.

use std::time::Duration;

use fantoccini::Locator;

use crate::apply::{pdf, register, start_application};
use crate::harness::{Browser, TestApp};

async fn stored_attachments(app: &TestApp) -> i64 {
    app.state
        .db
        .query(
            "SELECT COUNT(*) FROM attachments WHERE deleted_at IS NULL",
            vec![],
        )
        .await
        .expect("count")[0]
        .int(0)
}

/// Whether leaving the page now would ask "leave the site?": a
/// `beforeunload` event (as the browser fires it) is cancelled.
async fn leaving_is_questioned(b: &Browser) -> bool {
    let script = "const e = new Event('beforeunload', { cancelable: true });\
                  window.dispatchEvent(e);\
                  return e.defaultPrevented;";
    let v = b
        .client
        .execute(script, vec![])
        .await
        .expect("beforeunload");
    v.as_bool().expect("a boolean")
}

/// Finding 2: text typed seconds before an upload (within autosave's
/// delay) is saved before the upload goes, and the upload leaves the page
/// as it is; a reload shows both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_typed_just_before_an_upload_is_kept() {
    let app = TestApp::spawn_while_open().await;
    let b = Browser::open(&app, "text_typed_just_before_an_upload_is_kept").await;
    register(&b).await;
    let form_path = start_application(&b).await;
    let files = tempfile::tempdir().expect("temp dir");

    b.fill("主要产品/服务", "数控机床功能部件").await;
    // Leaving now would lose it: the page asks first.
    assert!(
        leaving_is_questioned(&b).await,
        "no warning with unsaved text"
    );
    b.upload("企业营业执照复印件", &pdf(files.path(), "营业执照.pdf"))
        .await;
    assert_eq!(b.path().await, form_path, "the upload left the page");
    let said = b.slot_text("企业营业执照复印件").await;
    assert!(said.contains("“营业执照.pdf”已上传。"), "{said}");
    assert_eq!(b.value("主要产品/服务").await, "数控机床功能部件");
    // Saved before the upload went: nothing left to warn about.
    assert!(
        !leaving_is_questioned(&b).await,
        "a warning with nothing unsaved"
    );
    b.screenshot_step("uploaded-after-typing").await;

    b.goto(&form_path).await;
    assert_eq!(b.value("主要产品/服务").await, "数控机床功能部件");
    let listed = b.slot_text("企业营业执照复印件").await;
    assert!(listed.contains("营业执照.pdf"), "{listed}");

    // Deleting asks once, stays on the page and answers in the slot.
    let slot = b.slot("企业营业执照复印件").await;
    let delete = slot
        .find(Locator::Css("form.delete button"))
        .await
        .expect("a delete button");
    delete.click().await.expect("click delete");
    let asked = b.client.get_alert_text().await.expect("a confirmation");
    assert_eq!(asked, "确定删除“营业执照.pdf”吗？");
    b.client.accept_alert().await.expect("accept");
    let mut said = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        said = b.slot_text("企业营业执照复印件").await;
        if said.contains("已删除") {
            break;
        }
    }
    assert!(said.contains("已删除“营业执照.pdf”。"), "{said}");
    assert!(said.contains("尚未上传"), "{said}");
    assert!(
        b.client.get_alert_text().await.is_err(),
        "asked a second time"
    );
    assert_eq!(b.path().await, form_path);
    assert_eq!(stored_attachments(&app).await, 0);
    b.close().await;
}

/// Finding 6: a 25 MB file chosen for the 20 MB 营业执照 slot is refused
/// in that slot, in Chinese, before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_too_large_for_its_slot_is_refused_there_before_sending() {
    let app = TestApp::spawn_while_open().await;
    let b = Browser::open(
        &app,
        "a_file_too_large_for_its_slot_is_refused_there_before_sending",
    )
    .await;
    register(&b).await;
    let form_path = start_application(&b).await;
    let files = tempfile::tempdir().expect("temp dir");
    let big = files.path().join("营业执照（扫描）.pdf");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(25 * 1024 * 1024).expect("size");
    drop(f);

    let want = "文件大小为25.0 MB，超过本项上限20 MB，请压缩后再上传。";
    let slot = b.choose_file("企业营业执照复印件", &big).await;
    let mut said = String::new();
    for _ in 0..30 {
        said = slot.text().await.expect("slot text");
        if said.contains(want) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(said.contains(want), "on choosing: {said}");
    // Sending it anyway is refused the same way, and nothing goes.
    let button = slot
        .find(Locator::Css("form.upload button[type=submit]"))
        .await
        .expect("upload button");
    button.click().await.expect("click upload");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(b.path().await, form_path);
    let said = b.slot_text("企业营业执照复印件").await;
    assert!(said.contains(want), "on sending: {said}");
    assert!(said.contains("尚未上传"), "{said}");
    b.screenshot_step("too-large-refused").await;
    assert_eq!(stored_attachments(&app).await, 0);
    b.close().await;
}

/// Finding 5: a refused upload (a text file named .pdf) says why in its
/// slot, where the user is, instead of at the top of the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_says_why_in_its_slot() {
    let app = TestApp::spawn_while_open().await;
    let b = Browser::open(&app, "a_refused_upload_says_why_in_its_slot").await;
    register(&b).await;
    let form_path = start_application(&b).await;
    let files = tempfile::tempdir().expect("temp dir");
    let fake = files.path().join("审计报告.pdf");
    std::fs::write(&fake, "这是一个文本文件，不是PDF。\n").expect("write");

    b.upload("审计报告复印件（2019年度）", &fake).await;
    assert_eq!(b.path().await, form_path);
    let said = b.slot_text("审计报告复印件（2019年度）").await;
    assert!(
        said.contains("“审计报告.pdf”上传失败：只接受 PDF、JPG 或 PNG 文件"),
        "{said}"
    );
    let alert = b
        .slot("审计报告复印件（2019年度）")
        .await
        .find(Locator::Css("[role=alert]"))
        .await
        .expect("the message is announced");
    assert!(alert.text().await.expect("alert").contains("上传失败"));
    assert!(!b.text().await.contains("附件已上传"));
    b.screenshot_step("refused-in-slot").await;
    assert_eq!(stored_attachments(&app).await, 0);
    b.close().await;
}

//! Editing the 申报书 as people do: in two tabs at once, and saving the same
//! text again (#21 items 3 and 4).

use crate::apply::{let_autosave_settle, register, start_application};
use crate::harness::{Browser, TestApp};

/// Tab A saves 主要产品/服务; tab B, loaded before that save, then changes
/// 详细地址 and clicks 保存草稿 as the conflict advice says: both changes
/// survive, in B's page and in A's after a reload. Then a multi-line text
/// autosaved and saved again unchanged shows no difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_editing_different_fields_both_survive_and_an_unchanged_save_shows_no_difference()
{
    let app = TestApp::spawn_while_open().await;
    let b = Browser::open(
        &app,
        "two_tabs_editing_different_fields_both_survive_and_an_unchanged_save_shows_no_difference",
    )
    .await;
    register(&b).await;
    let path = start_application(&b).await;
    let tab_b = b.client.window().await.expect("this tab");
    let tab_a = b.client.new_window(true).await.expect("new tab").handle;
    b.client
        .switch_to_window(tab_a.clone())
        .await
        .expect("tab A");
    b.goto(&path).await;
    b.fill("主要产品/服务", "工业互联网平台服务").await;
    b.click("保存草稿").await;
    b.wait_for_text("草稿已保存").await;

    b.client
        .switch_to_window(tab_b.clone())
        .await
        .expect("tab B");
    b.fill("详细地址", "武汉市洪山区珞喻路1号").await;
    b.click("保存草稿").await;
    b.wait_for_text("已一并合并保留").await;
    assert_eq!(b.value("详细地址").await, "武汉市洪山区珞喻路1号");
    assert_eq!(b.value("主要产品/服务").await, "工业互联网平台服务");
    b.screenshot_step("merged").await;

    b.client.switch_to_window(tab_a).await.expect("tab A");
    b.goto(&path).await;
    assert_eq!(b.value("详细地址").await, "武汉市洪山区珞喻路1号");
    assert_eq!(b.value("主要产品/服务").await, "工业互联网平台服务");

    // A text of two lines, autosaved (the browser sends LF), then saved by
    // the button (the browser posts CRLF) without an edit. Ten minutes on,
    // the autosave is kept as a version to compare with.
    app.state.clock.advance(10 * 60_000);
    b.fill("（一）申报单位概况", "第一段\n第二段").await;
    let_autosave_settle(&b).await;
    b.wait_for_text("已自动保存").await;
    b.click("保存草稿").await;
    b.wait_for_text("草稿已保存").await;
    let saved = b.path().await;
    let v: i64 = saved
        .split("saved=")
        .nth(1)
        .and_then(|s| s.split(['&', '#']).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("saved version in {saved}"));
    b.goto(&format!("{path}/diff?a={}&b={v}", v - 1)).await;
    let text = b.text().await;
    assert!(text.contains("共0处不同"), "{text}");
    b.close().await;
}

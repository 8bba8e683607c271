//! Notifications through the real router: each event's messages are read back
//! from the outbox (recipients, subject and Chinese body rendered from the
//! program's texts), a refused change writes none, and the 消息中心 shows a
//! user only their own messages.

use axum::http::StatusCode;

use crate::apply::submitted;
use crate::city::{BATCH, pass, ready_recommendation, screen, state_of, submit_rec, wuhan_apps};
use crate::helpers::{DEMO_PASSWORD, TestApp, spawn};
use shenbao::domain::notify::Kind;
use shenbao::services::notify;
use shenbao::store::outbox;

/// A message as the recipient sees it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub id: String,
    pub to: String,
    pub kind: Kind,
    pub subject: String,
    pub body: String,
    pub link: String,
}

/// Every message in the outbox, oldest first, with its recipient's user name.
pub(crate) async fn messages(app: &TestApp) -> Vec<Seen> {
    let mut out = Vec::new();
    for m in outbox::all(&app.state.db).await.expect("outbox") {
        let user = shenbao::store::users::by_id(&app.state.db, &m.recipient_id)
            .await
            .expect("q")
            .expect("recipient exists");
        let r = notify::render(&app.state.program, &m);
        out.push(Seen {
            id: m.id.clone(),
            to: user.username,
            kind: m.kind,
            subject: r.subject,
            body: r.body,
            link: m.link,
        });
    }
    out
}

fn of(all: &[Seen], kind: Kind) -> Vec<Seen> {
    all.iter().filter(|m| m.kind == kind).cloned().collect()
}

async fn owner(app: &TestApp, application_id: &str) -> String {
    app.state
        .db
        .query(
            "SELECT u.username FROM users u JOIN applications a ON a.enterprise_id = u.id WHERE a.id = $1",
            vec![application_id.into()],
        )
        .await
        .expect("q")[0]
        .text(0)
}

#[tokio::test]
async fn a_return_tells_the_enterprise_why_and_a_refused_one_tells_nobody() {
    let app = spawn().await;
    app.seed_demo().await;
    let (_, id) = submitted(&app, "qiye1", 7).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    // Refused (no reason): no message.
    let r = screen(&mut wuhan, &id, "returned", "", "", false).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        messages(&app).await.is_empty(),
        "a refused change sends nothing"
    );

    let r = screen(
        &mut wuhan,
        &id,
        "returned",
        "详细地址与营业执照不一致",
        "2021-09-14T17:00",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let all = messages(&app).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let m = &all[0];
    assert_eq!(
        (m.to.as_str(), m.kind),
        ("qiye1", Kind::ApplicationReturned)
    );
    assert_eq!(m.subject, "【湖北省上云标杆企业】申报书已退回修改");
    assert!(m.body.starts_with("湖北楚云智造"), "{}", m.body);
    assert!(m.body.contains("详细地址与营业执照不一致"), "{}", m.body);
    assert!(
        m.body.contains("请于2021年9月14日 17:00前修改后重新提交"),
        "{}",
        m.body
    );
    assert_eq!(m.link, format!("/apply/{id}"));
}

#[tokio::test]
async fn screening_recommending_and_reopening_tell_each_party() {
    let app = spawn().await;
    app.seed_demo().await;
    let (_, rejected) = submitted(&app, "qiye1", 7).await;
    let ids = wuhan_apps(&app, 2).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let r = screen(
        &mut wuhan,
        &rejected,
        "rejected",
        "不属于工业企业",
        "",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let rej = of(&messages(&app).await, Kind::ApplicationRejected);
    assert_eq!(rej.len(), 1);
    assert_eq!(rej[0].to, "qiye1");
    assert_eq!(rej[0].subject, "【湖北省上云标杆企业】申报书形式审查未通过");
    assert!(
        rej[0].body.contains("不予推荐：不属于工业企业"),
        "{}",
        rej[0].body
    );

    // The first is recommended, the second passes but is left off the list.
    ready_recommendation(&mut wuhan, &[&ids[0]]).await;
    pass(&mut wuhan, &ids[1]).await;
    let passed = of(&messages(&app).await, Kind::ApplicationPassed);
    assert_eq!(passed.len(), 2);
    assert!(passed[0].body.contains("已通过市州经信局形式审查"));
    assert_eq!(submit_rec(&mut wuhan).await.status, StatusCode::SEE_OTHER);
    let all = messages(&app).await;
    let rec = of(&all, Kind::ApplicationRecommended);
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].to, owner(&app, &ids[0]).await);
    assert_eq!(rec[0].subject, "【湖北省上云标杆企业】申报已获市州推荐");
    let not = of(&all, Kind::ApplicationNotRecommended);
    assert_eq!(not.len(), 1);
    assert_eq!(not[0].to, owner(&app, &ids[1]).await);
    assert!(
        not[0].body.contains("未列入市州推荐名单"),
        "{}",
        not[0].body
    );
    let sub = of(&all, Kind::RecommendationSubmitted);
    assert_eq!(
        sub.iter().map(|m| m.to.as_str()).collect::<Vec<_>>(),
        ["province"]
    );
    assert_eq!(sub[0].subject, "【湖北省上云标杆企业】武汉市已报送推荐");
    assert!(sub[0].body.contains("共推荐1家企业"), "{}", sub[0].body);

    // Reopened by the province: the city is told, and the enterprises are
    // not told they passed screening again.
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    let r = prov
        .post(
            "/province/recommendations/reopen",
            &[
                ("batch", BATCH),
                ("city", "420100"),
                ("reason", "推荐文件未盖章"),
            ],
        )
        .await;
    assert!(r.location().contains("done=reopened"), "{}", r.location());
    let all = messages(&app).await;
    let re = of(&all, Kind::RecommendationReopened);
    assert_eq!(
        re.iter().map(|m| m.to.as_str()).collect::<Vec<_>>(),
        ["wuhan"]
    );
    assert!(
        re[0].body.contains("原因：推荐文件未盖章"),
        "{}",
        re[0].body
    );
    assert_eq!(of(&all, Kind::ApplicationPassed).len(), 2);
    // A refused reopening (no reason) adds nothing.
    let before = all.len();
    let r = prov
        .post(
            "/province/recommendations/reopen",
            &[("batch", BATCH), ("city", "420100"), ("reason", "")],
        )
        .await;
    assert!(r.flash() != "", "{}", r.location());
    assert_eq!(messages(&app).await.len(), before);
}

#[tokio::test]
async fn the_draw_tells_each_drawn_expert_once_with_the_number_of_applications() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = wuhan_apps(&app, 2).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    ready_recommendation(&mut wuhan, &[&ids[0], &ids[1]]).await;
    assert_eq!(submit_rec(&mut wuhan).await.status, StatusCode::SEE_OTHER);
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    // A refused draw (no experts yet) tells nobody.
    let r = prov
        .post("/province/review/draw", &[("batch", BATCH)])
        .await;
    assert!(!r.location().contains("done=draw"));
    assert!(of(&messages(&app).await, Kind::ExpertAssigned).is_empty());

    let body =
        crate::review::import(&mut prov, &crate::review::sheet(&crate::review::EXPERTS)).await;
    assert!(body.contains("已添加 6 名专家"), "{body}");
    let r = prov
        .post("/province/review/draw", &[("batch", BATCH)])
        .await;
    assert!(r.location().contains("done=draw"), "{}", r.location());
    let drawn = app
        .state
        .db
        .query(
            "SELECT u.username, COUNT(*) FROM review_assignments a JOIN experts e ON e.id = a.expert_id \
             JOIN users u ON u.id = e.user_id GROUP BY u.username ORDER BY u.username",
            vec![],
        )
        .await
        .expect("q");
    let told = of(&messages(&app).await, Kind::ExpertAssigned);
    assert_eq!(told.len(), drawn.len());
    for r in &drawn {
        let m = told
            .iter()
            .find(|m| m.to == r.text(0))
            .unwrap_or_else(|| panic!("{} told", r.text(0)));
        assert_eq!(m.subject, "【湖北省上云标杆企业】评审任务通知");
        assert!(
            m.body.contains(&format!("共{}份申报书", r.int(1))),
            "{}",
            m.body
        );
        assert!(m.body.contains("第二批湖北省上云标杆企业"), "{}", m.body);
        assert_eq!(m.link, "/expert");
    }
    assert_eq!(state_of(&app, &ids[0]).await, "under_review");

    // Two days before the scoring deadline each drawn expert with unsubmitted
    // scores is reminded once, with the number left.
    let deadline = app.clock.now() + 2 * crate::city::DAY;
    app.state
        .db
        .write(shenbao::store::Batch::one(
            "INSERT INTO review_settings (batch_id, criteria, per_application, max_per_expert, same_city, blind, \
             trimmed, zscore, spread_threshold, score_deadline, version, updated_at, updated_by) \
             VALUES ($1, '[]', 5, 30, 1, 0, 1, 0, 20, $2, 1, 0, 'test') \
             ON CONFLICT (batch_id) DO UPDATE SET score_deadline = $2",
            vec![BATCH.into(), deadline.into()],
        ))
        .await
        .expect("deadline");
    let now = app.clock.now();
    let n = shenbao::services::reminders::run(&app.state.db, now)
        .await
        .expect("run");
    assert_eq!(n, drawn.len());
    assert_eq!(
        shenbao::services::reminders::run(&app.state.db, now)
            .await
            .expect("run"),
        0
    );
    let reminded = of(&messages(&app).await, Kind::DeadlineExpert);
    for r in &drawn {
        let m = reminded
            .iter()
            .find(|m| m.to == r.text(0))
            .expect("reminded");
        assert_eq!(m.subject, "【湖北省上云标杆企业】评分截止提醒：还有3天");
        assert!(
            m.body
                .contains(&format!("还有{}份申报书尚未提交评分", r.int(1))),
            "{}",
            m.body
        );
    }
}

#[tokio::test]
async fn publicity_objections_and_the_final_list_tell_the_enterprises_and_the_province() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = crate::publication::shortlisted(&app).await;
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    let r = prov
        .post(
            "/province/publication/open",
            &[("batch", BATCH), ("start", "2021-09-28"), ("days", "5")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let opened = of(&messages(&app).await, Kind::PublicityOpened);
    assert_eq!(opened.len(), 3);
    for id in &ids {
        let to = owner(&app, id).await;
        let m = opened
            .iter()
            .find(|m| m.to == to)
            .expect("each enterprise told");
        assert_eq!(m.subject, "【湖北省上云标杆企业】入围名单公示");
        assert!(
            m.body.contains("公示期为2021-09-28至2021-10-09"),
            "{}",
            m.body
        );
        assert_eq!(m.link, format!("/gongshi/{BATCH}"));
    }

    // An objection before the period is refused: nobody is told.
    let mut visitor = app.client();
    let (s, _) = crate::publication::object(&mut visitor, &ids[0], "张伟", "13812345678").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(of(&messages(&app).await, Kind::ObjectionReceived).is_empty());
    app.clock.advance(
        crate::publication::SEPT_28 - crate::helpers::START + 10 * crate::publication::HOUR,
    );
    let (s, body) = crate::publication::object(&mut visitor, &ids[0], "张伟", "13812345678").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let got = of(&messages(&app).await, Kind::ObjectionReceived);
    assert_eq!(
        got.iter().map(|m| m.to.as_str()).collect::<Vec<_>>(),
        ["province"]
    );
    let name = crate::review::name(&app, &ids[0]).await;
    assert!(got[0].body.contains(&name), "{}", got[0].body);
    assert!(!got[0].body.contains("张伟"), "the objector is not named");
    assert!(got[0].link.starts_with("/province/objections/"));

    let oid = got[0]
        .link
        .trim_start_matches("/province/objections/")
        .to_string();
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    let r = prov
        .post(
            &format!("/province/objections/{oid}/decide"),
            &[
                ("decision", "upheld"),
                ("outcome", "cancel"),
                ("reason", "经核查，异议所述属实。"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let dec = of(&messages(&app).await, Kind::ObjectionDecided);
    assert_eq!(dec.len(), 1);
    assert_eq!(dec[0].to, owner(&app, &ids[0]).await);
    assert!(
        dec[0].body.contains("处理结果：异议成立，取消入选"),
        "{}",
        dec[0].body
    );
    assert!(
        dec[0].body.contains("理由：经核查，异议所述属实。"),
        "{}",
        dec[0].body
    );
    assert!(!dec[0].body.contains("张伟"));

    let now = app.clock.now();
    app.clock.advance(1_633_795_200_000 - now + 1000);
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    let r = prov
        .post(
            "/province/publication/final",
            &[
                ("batch", BATCH),
                ("doc_number", "鄂经信办函〔2021〕90号"),
                ("date", "2021-10-12"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let all = messages(&app).await;
    let sel = of(&all, Kind::ApplicationSelected);
    let mut to: Vec<String> = sel.iter().map(|m| m.to.clone()).collect();
    to.sort();
    let mut want = vec![owner(&app, &ids[1]).await, owner(&app, &ids[2]).await];
    want.sort();
    assert_eq!(to, want);
    assert_eq!(sel[0].subject, "【湖北省上云标杆企业】恭喜入选");
    let not = of(&all, Kind::ApplicationNotSelected);
    assert_eq!(not.len(), 1);
    assert_eq!(not[0].to, owner(&app, &ids[0]).await);
    assert!(
        not[0].body.contains("公示期间异议成立，取消入选"),
        "{}",
        not[0].body
    );
}

#[tokio::test]
async fn the_message_centre_shows_each_user_only_their_own_messages() {
    let app = spawn().await;
    app.seed_demo().await;
    let (mut ent, id) = submitted(&app, "qiye1", 7).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let r = screen(&mut wuhan, &id, "returned", "缺少审计报告", "", false).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mid = messages(&app).await[0].id.clone();

    // Anonymous: to the login page, for the list and for every action.
    let mut anon = app.client();
    let r = anon.get("/account/messages").await;
    assert!(r.location().starts_with("/login?next="), "{}", r.location());
    anon.get("/login").await;
    for p in [
        format!("/account/messages/{mid}/read"),
        format!("/account/messages/{mid}/open"),
        "/account/messages/read-all".to_string(),
    ] {
        let r = anon.post(&p, &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "POST {p}");
        assert!(r.location().starts_with("/login?next="), "POST {p}");
    }

    // The recipient: the unread count in the navigation, the message, open → its object.
    let page = ent.get("/dashboard").await;
    assert!(
        page.body
            .contains("消息中心<span class=\"badge\" aria-label=\"未读消息\">（1条未读）"),
        "{}",
        page.body
    );
    let list = ent.get("/account/messages").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("申报书已退回修改"));
    assert!(list.body.contains("缺少审计报告"));
    assert!(list.body.contains("未读"));

    // Another account sees none of it and cannot touch it.
    for who in ["qiye2", "wuhan", "province", "expert1"] {
        let mut other = app.login(who, DEMO_PASSWORD).await;
        let list = other.get("/account/messages").await;
        assert_eq!(list.status, StatusCode::OK, "{who}");
        assert!(
            !list.body.contains("缺少审计报告"),
            "{who} sees another's message"
        );
        assert!(!list.body.contains("申报书已退回修改"), "{who}");
        for p in [
            format!("/account/messages/{mid}/read"),
            format!("/account/messages/{mid}/open"),
        ] {
            assert_eq!(
                other.post(&p, &[]).await.status,
                StatusCode::NOT_FOUND,
                "{who} POST {p}"
            );
        }
        other.post("/account/messages/read-all", &[]).await;
    }
    let m = outbox::one_for_recipient(&app.state.db, &user_id(&app, "qiye1").await, &mid)
        .await
        .expect("q")
        .expect("own");
    assert!(m.read_at.is_none(), "others' read-all leaves it unread");

    let r = ent
        .post(&format!("/account/messages/{mid}/open"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), format!("/apply/{id}"));
    let page = ent.get("/dashboard").await;
    assert!(!page.body.contains("条未读"));
    assert!(page.body.contains("消息中心"));
    let list = ent.get("/account/messages").await;
    assert!(list.body.contains("已读"));
}

async fn user_id(app: &TestApp, username: &str) -> String {
    shenbao::store::users::by_username(&app.state.db, username)
        .await
        .expect("q")
        .expect("user")
        .id
}

#[tokio::test]
async fn deadline_reminders_come_three_days_and_one_day_before_once_each() {
    use shenbao::services::reminders;
    let app = spawn().await;
    app.seed_demo().await;
    // qiye1 has a draft; qiye2 (宜昌) has submitted.
    let mut ent = app.login("qiye1", DEMO_PASSWORD).await;
    let draft = crate::apply::start(&mut ent).await;
    let (_, done) = submitted(&app, "qiye2", 8).await;
    let db = &app.state.db;
    // 2021-09-10 10:00: the enterprise deadline (09-15 17:00) is more than 3 days away.
    assert_eq!(reminders::run(db, app.clock.now()).await.expect("run"), 0);

    // 2021-09-12 18:00: within three days.
    app.clock.advance(2 * crate::city::DAY + 8 * 3600 * 1000);
    assert_eq!(reminders::run(db, app.clock.now()).await.expect("run"), 1);
    assert_eq!(
        reminders::run(db, app.clock.now()).await.expect("run"),
        0,
        "idempotent"
    );
    let all = messages(&app).await;
    let r = of(&all, Kind::DeadlineEnterprise);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].to, "qiye1");
    assert_eq!(r[0].subject, "【湖北省上云标杆企业】申报截止提醒：还有3天");
    assert!(
        r[0].body
            .contains("申报截止时间为2021年9月15日 17:00（还有3天）"),
        "{}",
        r[0].body
    );
    assert_eq!(r[0].link, format!("/apply/{draft}"));
    assert!(
        !all.iter().any(|m| m.link.contains(&done)),
        "no reminder for a submitted one"
    );

    // 2021-09-15 08:00: the last day, one more; then past the deadline, none.
    app.clock.advance(2 * crate::city::DAY + 14 * 3600 * 1000);
    assert_eq!(reminders::run(db, app.clock.now()).await.expect("run"), 1);
    assert_eq!(reminders::run(db, app.clock.now()).await.expect("run"), 0);
    let r = of(&messages(&app).await, Kind::DeadlineEnterprise);
    assert_eq!(r.len(), 2);
    assert!(r[1].subject.ends_with("还有1天"), "{}", r[1].subject);

    // 2021-09-18 08:00: the recommendation deadline (09-20 23:59) is within
    // three days; 宜昌 has an application and has not submitted.
    app.clock.advance(3 * crate::city::DAY);
    assert_eq!(reminders::run(db, app.clock.now()).await.expect("run"), 1);
    let c = of(&messages(&app).await, Kind::DeadlineCity);
    assert_eq!(
        c.iter().map(|m| m.to.as_str()).collect::<Vec<_>>(),
        ["yichang"]
    );
    assert!(c[0].body.starts_with("宜昌市："), "{}", c[0].body);
    assert!(
        c[0].body
            .contains("推荐报送截止时间为2021年9月20日 23:59（还有3天）"),
        "{}",
        c[0].body
    );
    assert_eq!(reminders::run(db, app.clock.now()).await.expect("run"), 0);
}

#[tokio::test]
async fn account_security_events_tell_the_owner() {
    let app = spawn().await;
    app.seed_demo().await;
    // The first login ever tells nothing; a second from another address does,
    // once per address.
    let mut first = app.login("qiye1", DEMO_PASSWORD).await;
    assert!(messages(&app).await.is_empty());
    let mut second = app.client();
    assert_eq!(
        second.login("qiye1", DEMO_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    second.login("qiye1", DEMO_PASSWORD).await;
    first.login("qiye1", DEMO_PASSWORD).await;
    let new = of(&messages(&app).await, Kind::NewLoginAddress);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0].to, "qiye1");
    assert_eq!(
        new[0].subject,
        "【湖北省上云标杆企业】账号在新的网络地址登录"
    );
    assert!(
        new[0]
            .body
            .contains(&format!("从网络地址 {} 登录", second.addr.ip())),
        "{}",
        new[0].body
    );

    // Five wrong passwords lock the account: its owner is told once.
    let mut guesser = app.client();
    for _ in 0..6 {
        guesser.login("qiye2", "Wrong-Pass-2021").await;
    }
    let locked = of(&messages(&app).await, Kind::AccountLocked);
    assert_eq!(locked.len(), 1, "{locked:?}");
    assert_eq!(locked[0].to, "qiye2");
    assert!(
        locked[0].body.contains(&format!(
            "从网络地址 {} 连续多次登录失败，已锁定至2021-09-10 10:15:00",
            guesser.addr.ip()
        )),
        "{}",
        locked[0].body
    );
    // Unknown names lock too, but nobody is told.
    for _ in 0..6 {
        guesser.login("nobody-here", "Wrong-Pass-2021").await;
    }
    assert_eq!(of(&messages(&app).await, Kind::AccountLocked).len(), 1);

    // The system administrator resets a password: the account's owner is told.
    let wuhan = shenbao::store::users::by_username(&app.state.db, "wuhan")
        .await
        .expect("q")
        .expect("wuhan");
    let mut prov = app.login("sysadmin", DEMO_PASSWORD).await;
    let r = prov
        .post(&format!("/admin/users/{}/reset-password", wuhan.id), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let reset = of(&messages(&app).await, Kind::PasswordReset);
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0].to, "wuhan");
    assert!(reset[0].body.contains("由管理员重置"), "{}", reset[0].body);
}

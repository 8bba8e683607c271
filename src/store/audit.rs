//! The append-only audit log. Entries are only ever inserted, in the same
//! batch as the change they record; triggers in both databases refuse
//! UPDATE and DELETE, and no route offers either.

use super::{Batch, Db, Millis, Result, Row, new_id};
use crate::params;

/// Every kind of audited event, with its Chinese label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    LoginSuccess,
    LoginFailure,
    AccountLocked,
    LoginRefusedLocked,
    LoginThrottled,
    Logout,
    LogoutEverywhere,
    SessionExpired,
    PasswordChange,
    PasswordReset,
    Register,
    AccountCreate,
    AccountUpdate,
    AccountDisable,
    AccountEnable,
    CsrfRefused,
    /// A request refused with 403: a role reaching outside its pages.
    AccessRefused,
    DemoSeed,
    ApplicationStart,
    ApplicationTransition,
    AttachmentUpload,
    AttachmentDelete,
    /// An official (city, province, expert) opened an enterprise's file.
    AttachmentDownload,
    BenchmarkListChange,
    BatchUpdate,
    BatchCreate,
    NameChangeRequest,
    NameChangeDecide,
    Export,
    ScreeningChecklistChange,
    ScoringSheetChange,
    CityScore,
    TieOrder,
    RecommendationChange,
    RecommendationFileUpload,
    RecommendationSubmit,
    RecommendationReopen,
    CityCapChange,
    ReviewSettingsChange,
    ExpertChange,
    ExpertImport,
    ExpertPledge,
    ReviewDraw,
    ReviewDecline,
    ExpertScore,
    ExpertScoreSubmit,
    PanelOpinion,
    ShortlistChange,
    ShortlistLock,
    PublicityOpen,
    ObjectionFile,
    ObjectionVerifyRequest,
    ObjectionFindings,
    ObjectionDecision,
    FinalPublish,
    ObjectionAnswer,
    CaseSave,
    CaseSubmit,
    CaseApprove,
    CaseReturn,
    TwoFactorEnrol,
    TwoFactorPassed,
    RecoveryCodeUsed,
    RecoveryCodesRenew,
    TwoFactorRemove,
    PasswordExpired,
    LoginRefusedExpired,
    LockoutClear,
    SessionsRevoke,
    AuditExport,
}

impl Action {
    pub const ALL: [Action; 70] = [
        Action::LoginSuccess,
        Action::LoginFailure,
        Action::AccountLocked,
        Action::LoginRefusedLocked,
        Action::LoginThrottled,
        Action::Logout,
        Action::LogoutEverywhere,
        Action::SessionExpired,
        Action::PasswordChange,
        Action::PasswordReset,
        Action::Register,
        Action::AccountCreate,
        Action::AccountUpdate,
        Action::AccountDisable,
        Action::AccountEnable,
        Action::CsrfRefused,
        Action::AccessRefused,
        Action::DemoSeed,
        Action::ApplicationStart,
        Action::ApplicationTransition,
        Action::AttachmentUpload,
        Action::AttachmentDelete,
        Action::AttachmentDownload,
        Action::BenchmarkListChange,
        Action::BatchUpdate,
        Action::BatchCreate,
        Action::NameChangeRequest,
        Action::NameChangeDecide,
        Action::Export,
        Action::ScreeningChecklistChange,
        Action::ScoringSheetChange,
        Action::CityScore,
        Action::TieOrder,
        Action::RecommendationChange,
        Action::RecommendationFileUpload,
        Action::RecommendationSubmit,
        Action::RecommendationReopen,
        Action::CityCapChange,
        Action::ReviewSettingsChange,
        Action::ExpertChange,
        Action::ExpertImport,
        Action::ExpertPledge,
        Action::ReviewDraw,
        Action::ReviewDecline,
        Action::ExpertScore,
        Action::ExpertScoreSubmit,
        Action::PanelOpinion,
        Action::ShortlistChange,
        Action::ShortlistLock,
        Action::PublicityOpen,
        Action::ObjectionFile,
        Action::ObjectionVerifyRequest,
        Action::ObjectionFindings,
        Action::ObjectionDecision,
        Action::FinalPublish,
        Action::ObjectionAnswer,
        Action::CaseSave,
        Action::CaseSubmit,
        Action::CaseApprove,
        Action::CaseReturn,
        Action::TwoFactorEnrol,
        Action::TwoFactorPassed,
        Action::RecoveryCodeUsed,
        Action::RecoveryCodesRenew,
        Action::TwoFactorRemove,
        Action::PasswordExpired,
        Action::LoginRefusedExpired,
        Action::LockoutClear,
        Action::SessionsRevoke,
        Action::AuditExport,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::LoginSuccess => "login.success",
            Action::LoginFailure => "login.failure",
            Action::AccountLocked => "account.locked",
            Action::LoginRefusedLocked => "login.refused_locked",
            Action::LoginThrottled => "login.throttled",
            Action::Logout => "logout",
            Action::LogoutEverywhere => "logout.everywhere",
            Action::SessionExpired => "session.expired",
            Action::PasswordChange => "password.change",
            Action::PasswordReset => "password.reset",
            Action::Register => "account.register",
            Action::AccountCreate => "account.create",
            Action::AccountUpdate => "account.update",
            Action::AccountDisable => "account.disable",
            Action::AccountEnable => "account.enable",
            Action::CsrfRefused => "csrf.refused",
            Action::AccessRefused => "access.refused",
            Action::DemoSeed => "demo.seed",
            Action::ApplicationStart => "application.start",
            Action::ApplicationTransition => "application.transition",
            Action::AttachmentUpload => "attachment.upload",
            Action::AttachmentDelete => "attachment.delete",
            Action::AttachmentDownload => "attachment.download",
            Action::BenchmarkListChange => "benchmark_list.change",
            Action::BatchUpdate => "batch.update",
            Action::BatchCreate => "batch.create",
            Action::NameChangeRequest => "name_change.request",
            Action::NameChangeDecide => "name_change.decide",
            Action::Export => "export.package",
            Action::ScreeningChecklistChange => "screening_checklist.change",
            Action::ScoringSheetChange => "scoring_sheet.change",
            Action::CityScore => "city.score",
            Action::TieOrder => "city.tie_order",
            Action::RecommendationChange => "recommendation.change",
            Action::RecommendationFileUpload => "recommendation.file_upload",
            Action::RecommendationSubmit => "recommendation.submit",
            Action::RecommendationReopen => "recommendation.reopen",
            Action::CityCapChange => "city_cap.change",
            Action::ReviewSettingsChange => "review.settings",
            Action::ExpertChange => "expert.change",
            Action::ExpertImport => "expert.import",
            Action::ExpertPledge => "expert.pledge",
            Action::ReviewDraw => "review.draw",
            Action::ReviewDecline => "review.decline",
            Action::ExpertScore => "review.score",
            Action::ExpertScoreSubmit => "review.submit",
            Action::PanelOpinion => "review.panel_opinion",
            Action::ShortlistChange => "shortlist.change",
            Action::ShortlistLock => "shortlist.lock",
            Action::PublicityOpen => "publicity.open",
            Action::ObjectionFile => "objection.file",
            Action::ObjectionVerifyRequest => "objection.verify_request",
            Action::ObjectionFindings => "objection.findings",
            Action::ObjectionDecision => "objection.decision",
            Action::FinalPublish => "publicity.final",
            Action::ObjectionAnswer => "objection.answer",
            Action::CaseSave => "case.save",
            Action::CaseSubmit => "case.submit",
            Action::CaseApprove => "case.approve",
            Action::CaseReturn => "case.return",
            Action::TwoFactorEnrol => "2fa.enrol",
            Action::TwoFactorPassed => "2fa.passed",
            Action::RecoveryCodeUsed => "2fa.recovery_used",
            Action::RecoveryCodesRenew => "2fa.recovery_renew",
            Action::TwoFactorRemove => "2fa.remove",
            Action::PasswordExpired => "password.expired",
            Action::LoginRefusedExpired => "login.refused_expired",
            Action::LockoutClear => "account.unlock",
            Action::SessionsRevoke => "session.revoke",
            Action::AuditExport => "audit.export",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::LoginSuccess => "登录成功",
            Action::LoginFailure => "登录失败",
            Action::AccountLocked => "账号锁定",
            Action::LoginRefusedLocked => "锁定期间尝试登录",
            Action::LoginThrottled => "登录频率受限",
            Action::Logout => "退出登录",
            Action::LogoutEverywhere => "退出全部设备",
            Action::SessionExpired => "会话超时",
            Action::PasswordChange => "修改密码",
            Action::PasswordReset => "重置密码",
            Action::Register => "企业注册",
            Action::AccountCreate => "创建账号",
            Action::AccountUpdate => "修改账号",
            Action::AccountDisable => "停用账号",
            Action::AccountEnable => "启用账号",
            Action::CsrfRefused => "拒绝跨站请求",
            Action::AccessRefused => "越权访问被拒绝",
            Action::DemoSeed => "创建演示数据",
            Action::ApplicationStart => "创建申报书",
            Action::ApplicationTransition => "申报状态变更",
            Action::AttachmentUpload => "上传附件",
            Action::AttachmentDelete => "删除附件",
            Action::AttachmentDownload => "查阅企业附件",
            Action::BenchmarkListChange => "修改已有标杆企业名单",
            Action::BatchUpdate => "修改批次设置",
            Action::BatchCreate => "新建申报批次",
            Action::NameChangeRequest => "申请变更企业名称",
            Action::NameChangeDecide => "审核企业名称变更",
            Action::Export => "导出申报材料",
            Action::ScreeningChecklistChange => "修改形式审查清单",
            Action::ScoringSheetChange => "修改评审细则",
            Action::CityScore => "市州评分",
            Action::TieOrder => "并列排序",
            Action::RecommendationChange => "修改推荐名单",
            Action::RecommendationFileUpload => "上传推荐文件",
            Action::RecommendationSubmit => "提交推荐",
            Action::RecommendationReopen => "重新开放推荐",
            Action::CityCapChange => "修改市州推荐名额",
            Action::ReviewSettingsChange => "修改评审设置",
            Action::ExpertChange => "修改专家库",
            Action::ExpertImport => "导入专家库",
            Action::ExpertPledge => "签署保密与回避承诺",
            Action::ReviewDraw => "随机抽取评审专家",
            Action::ReviewDecline => "专家申请回避",
            Action::ExpertScore => "专家评分",
            Action::ExpertScoreSubmit => "专家提交评分",
            Action::PanelOpinion => "专家组意见",
            Action::ShortlistChange => "修改入围名单",
            Action::ShortlistLock => "锁定入围名单",
            Action::PublicityOpen => "发布公示",
            Action::ObjectionFile => "提出异议",
            Action::ObjectionVerifyRequest => "交市州核查异议",
            Action::ObjectionFindings => "市州核查异议",
            Action::ObjectionDecision => "异议处理决定",
            Action::FinalPublish => "公布最终名单",
            Action::ObjectionAnswer => "企业申辩",
            Action::CaseSave => "保存典型案例",
            Action::CaseSubmit => "提交典型案例",
            Action::CaseApprove => "审定发布典型案例",
            Action::CaseReturn => "退回典型案例",
            Action::TwoFactorEnrol => "绑定动态口令",
            Action::TwoFactorPassed => "动态口令验证通过",
            Action::RecoveryCodeUsed => "使用恢复码登录",
            Action::RecoveryCodesRenew => "重新生成恢复码",
            Action::TwoFactorRemove => "解除动态口令",
            Action::PasswordExpired => "密码已到期须修改",
            Action::LoginRefusedExpired => "临时密码过期，拒绝登录",
            Action::LockoutClear => "解除登录锁定",
            Action::SessionsRevoke => "强制下线",
            Action::AuditExport => "导出审计日志",
        }
    }

    pub fn from_code(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }
}

/// Who did it, from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<String>,
    pub name: String,
    pub role: Option<&'static str>,
    pub ip: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            id: None,
            name: "system".into(),
            role: None,
            ip: "local".into(),
        }
    }
}

pub fn record(
    b: &mut Batch,
    actor: &Actor,
    action: Action,
    target: Option<&str>,
    ok: bool,
    detail: &str,
    now: Millis,
) {
    b.push(
        "INSERT INTO audit_log (id, at, actor_id, actor_name, actor_role, ip, action, target, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        params![
            new_id(),
            now,
            actor.id.clone(),
            actor.name.as_str(),
            actor.role,
            actor.ip.as_str(),
            action.code(),
            target,
            if ok { "success" } else { "failure" },
            detail
        ],
    );
}

/// The `account.locked` entry of a failed login, written in the same batch
/// as `users::count_failure` and there exactly when that failure locked the
/// name (the lock alone resets the count to 0).
pub fn record_if_locked(
    b: &mut Batch,
    actor: &Actor,
    username: &str,
    until: Millis,
    detail: &str,
    now: Millis,
) {
    b.push(
        "INSERT INTO audit_log (id, at, actor_id, actor_name, actor_role, ip, action, target, outcome, detail) \
         SELECT $1, $2, $3, $4, $5, $6, $7, NULL, 'success', $8 \
         WHERE EXISTS (SELECT 1 FROM login_throttle WHERE username = $9 AND locked_until = $10 AND failures = 0)",
        params![
            new_id(),
            now,
            actor.id.clone(),
            actor.name.as_str(),
            actor.role,
            actor.ip.as_str(),
            Action::AccountLocked.code(),
            detail,
            username,
            until
        ],
    );
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub at: Millis,
    pub actor_name: String,
    pub actor_role: Option<String>,
    pub ip: String,
    pub action: String,
    pub target: Option<String>,
    pub ok: bool,
    pub detail: String,
}

impl Entry {
    fn from_row(r: &Row) -> Entry {
        Entry {
            at: r.int(0),
            actor_name: r.text(1),
            actor_role: r.opt_text(2),
            ip: r.text(3),
            action: r.text(4),
            target: r.opt_text(5),
            ok: r.text(6) == "success",
            detail: r.text(7),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub action: String,
    pub actor: String,
    pub ip: String,
    pub outcome: String,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

/// Newest first; `limit + 1` rows are read so callers can tell whether more follow.
pub async fn search(db: &Db, f: &Filter, limit: i64, offset: i64) -> Result<Vec<Entry>> {
    let rows = db
        .query(
            "SELECT at, actor_name, actor_role, ip, action, target, outcome, detail FROM audit_log \
             WHERE ($1 = '' OR action = $1) AND ($2 = '' OR actor_name = $2) AND ($3 = '' OR ip = $3) \
             AND ($4 = '' OR outcome = $4) AND at >= $5 AND at < $6 \
             ORDER BY at DESC, id DESC LIMIT $7 OFFSET $8",
            params![
                f.action.as_str(),
                f.actor.as_str(),
                f.ip.as_str(),
                f.outcome.as_str(),
                f.from.unwrap_or(0),
                f.to.unwrap_or(i64::MAX),
                limit + 1,
                offset
            ],
        )
        .await?;
    Ok(rows.iter().map(Entry::from_row).collect())
}

/// Failed logins from one address since `since` (throttling per client address).
pub async fn failures_from_ip(db: &Db, ip: &str, since: Millis) -> Result<(i64, Millis)> {
    from_ip(db, ip, Action::LoginFailure, since).await
}

/// How many `action` entries one address made since `since`, and the last one's time.
pub async fn from_ip(db: &Db, ip: &str, action: Action, since: Millis) -> Result<(i64, Millis)> {
    let row = db
        .query_opt(
            "SELECT COUNT(*), COALESCE(MAX(at), 0) FROM audit_log WHERE ip = $1 AND action = $2 AND at >= $3",
            params![ip, action.code(), since],
        )
        .await?;
    Ok(row.map_or((0, 0), |r| (r.int(0), r.int(1))))
}

/// Failed logins of a (typed) name since `since`, from every address, and
/// the time of the last.
pub async fn failures_for_name(db: &Db, name: &str, since: Millis) -> Result<(i64, Millis)> {
    let row = db
        .query_opt(
            "SELECT COUNT(*), COALESCE(MAX(at), 0) FROM audit_log WHERE action = $1 AND at >= $2 AND actor_name = $3",
            params![Action::LoginFailure.code(), since, name],
        )
        .await?;
    Ok(row.map_or((0, 0), |r| (r.int(0), r.int(1))))
}

//! What the platform tells people: the kinds of message, the variables each
//! kind's texts may use, and the texts themselves (subject and body templates
//! from the program definition, `[messages.<kind>]` in `program.toml`).
//!
//! A template names its variables in braces, `{enterprise}`; `{{` and `}}`
//! stand for literal braces. Templates are checked when the program is loaded
//! (every kind present, no unknown kind, no unknown variable), so rendering a
//! message later cannot fail.

use std::collections::BTreeMap;

/// Every kind of message, with the variables its texts may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    ApplicationReturned,
    ApplicationRejected,
    ApplicationPassed,
    ApplicationRecommended,
    ApplicationNotRecommended,
    ApplicationSelected,
    ApplicationNotSelected,
    RecommendationSubmitted,
    RecommendationReopened,
    ExpertAssigned,
    PublicityOpened,
    ObjectionReceived,
    ObjectionDecided,
    /// An enterprise's unsubmitted draft, 3 days and 1 day before its city's deadline.
    DeadlineEnterprise,
    /// A city that has not submitted, 3 days and 1 day before the province's deadline.
    DeadlineCity,
    /// An expert with unsubmitted scores, 3 days and 1 day before the scoring deadline.
    DeadlineExpert,
    /// Account security, to the account's owner.
    PasswordReset,
    AccountLocked,
    NewLoginAddress,
    /// A recovery code was used to log in (the phone may be lost or taken).
    RecoveryCodeUsed,
    /// The account's second factor was removed.
    TwoFactorRemoved,
}

/// Variables every template may use, filled from the program definition.
pub const COMMON_VARS: [&str; 2] = ["program", "issuer"];

impl Kind {
    pub const ALL: [Kind; 21] = [
        Kind::ApplicationReturned,
        Kind::ApplicationRejected,
        Kind::ApplicationPassed,
        Kind::ApplicationRecommended,
        Kind::ApplicationNotRecommended,
        Kind::ApplicationSelected,
        Kind::ApplicationNotSelected,
        Kind::RecommendationSubmitted,
        Kind::RecommendationReopened,
        Kind::ExpertAssigned,
        Kind::PublicityOpened,
        Kind::ObjectionReceived,
        Kind::ObjectionDecided,
        Kind::DeadlineEnterprise,
        Kind::DeadlineCity,
        Kind::DeadlineExpert,
        Kind::PasswordReset,
        Kind::AccountLocked,
        Kind::NewLoginAddress,
        Kind::RecoveryCodeUsed,
        Kind::TwoFactorRemoved,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::ApplicationReturned => "application_returned",
            Kind::ApplicationRejected => "application_rejected",
            Kind::ApplicationPassed => "application_passed",
            Kind::ApplicationRecommended => "application_recommended",
            Kind::ApplicationNotRecommended => "application_not_recommended",
            Kind::ApplicationSelected => "application_selected",
            Kind::ApplicationNotSelected => "application_not_selected",
            Kind::RecommendationSubmitted => "recommendation_submitted",
            Kind::RecommendationReopened => "recommendation_reopened",
            Kind::ExpertAssigned => "expert_assigned",
            Kind::PublicityOpened => "publicity_opened",
            Kind::ObjectionReceived => "objection_received",
            Kind::ObjectionDecided => "objection_decided",
            Kind::DeadlineEnterprise => "deadline_enterprise",
            Kind::DeadlineCity => "deadline_city",
            Kind::DeadlineExpert => "deadline_expert",
            Kind::PasswordReset => "password_reset",
            Kind::AccountLocked => "account_locked",
            Kind::NewLoginAddress => "new_login_address",
            Kind::RecoveryCodeUsed => "recovery_code_used",
            Kind::TwoFactorRemoved => "two_factor_removed",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Chinese name of the kind (the message centre's column).
    pub fn label(self) -> &'static str {
        match self {
            Kind::ApplicationReturned => "申报退回修改",
            Kind::ApplicationRejected => "形式审查未通过",
            Kind::ApplicationPassed => "形式审查通过",
            Kind::ApplicationRecommended => "市州推荐",
            Kind::ApplicationNotRecommended => "未获推荐",
            Kind::ApplicationSelected => "入选通知",
            Kind::ApplicationNotSelected => "未入选通知",
            Kind::RecommendationSubmitted => "市州推荐已报送",
            Kind::RecommendationReopened => "推荐退回修改",
            Kind::ExpertAssigned => "评审任务",
            Kind::PublicityOpened => "公示开始",
            Kind::ObjectionReceived => "收到异议",
            Kind::ObjectionDecided => "异议处理结果",
            Kind::DeadlineEnterprise => "申报截止提醒",
            Kind::DeadlineCity => "推荐截止提醒",
            Kind::DeadlineExpert => "评分截止提醒",
            Kind::PasswordReset => "密码已重置",
            Kind::AccountLocked => "账号已锁定",
            Kind::NewLoginAddress => "新地址登录",
            Kind::RecoveryCodeUsed => "使用恢复码登录",
            Kind::TwoFactorRemoved => "动态口令已解除",
        }
    }

    /// A message about the account's security, not about the program: a
    /// definition may leave its text out and take the shipped one (a batch
    /// definition stored before the kind existed still loads).
    pub fn is_account_security(self) -> bool {
        matches!(
            self,
            Kind::PasswordReset
                | Kind::AccountLocked
                | Kind::NewLoginAddress
                | Kind::RecoveryCodeUsed
                | Kind::TwoFactorRemoved
        )
    }

    /// The kind's own variables (besides [`COMMON_VARS`]).
    pub fn vars(self) -> &'static [&'static str] {
        match self {
            Kind::ApplicationReturned
            | Kind::ApplicationRejected
            | Kind::ApplicationNotRecommended
            | Kind::ApplicationNotSelected => &["enterprise", "reason"],
            Kind::ApplicationPassed | Kind::ApplicationRecommended | Kind::ApplicationSelected => {
                &["enterprise"]
            }
            Kind::RecommendationSubmitted => &["city", "batch", "count"],
            Kind::RecommendationReopened => &["city", "batch", "reason"],
            Kind::ExpertAssigned => &["expert", "batch", "count"],
            Kind::PublicityOpened => &["enterprise", "batch", "starts_on", "ends_on"],
            Kind::ObjectionReceived => &["enterprise", "batch"],
            Kind::ObjectionDecided => &["enterprise", "batch", "outcome", "reason"],
            Kind::DeadlineEnterprise => &["enterprise", "batch", "deadline", "days"],
            Kind::DeadlineCity => &["city", "batch", "deadline", "days"],
            Kind::DeadlineExpert => &["expert", "batch", "deadline", "days", "count"],
            Kind::PasswordReset => &["user", "time"],
            Kind::AccountLocked => &["user", "ip", "until"],
            Kind::NewLoginAddress => &["user", "ip", "time"],
            Kind::RecoveryCodeUsed => &["user", "ip", "time", "left"],
            Kind::TwoFactorRemoved => &["user", "ip", "time"],
        }
    }

    /// The message an application's move from `from` to `to` sends its
    /// enterprise (a reopened recommendation moving back to 形式审查通过 is
    /// not news to it).
    pub fn for_move(
        from: crate::domain::lifecycle::State,
        to: crate::domain::lifecycle::State,
    ) -> Option<Kind> {
        use crate::domain::lifecycle::State;
        match to {
            State::Returned => Some(Kind::ApplicationReturned),
            State::CityRejected => Some(Kind::ApplicationRejected),
            State::CityPassed if from == State::Submitted => Some(Kind::ApplicationPassed),
            State::Recommended => Some(Kind::ApplicationRecommended),
            State::NotRecommended => Some(Kind::ApplicationNotRecommended),
            State::Selected => Some(Kind::ApplicationSelected),
            State::NotSelected => Some(Kind::ApplicationNotSelected),
            _ => None,
        }
    }

    /// Messages that are e-mailed whatever the recipient's preferences say
    /// (returns, deadlines, account security).
    pub fn must_send(self) -> bool {
        matches!(
            self,
            Kind::ApplicationReturned
                | Kind::DeadlineEnterprise
                | Kind::DeadlineCity
                | Kind::DeadlineExpert
                | Kind::PasswordReset
                | Kind::AccountLocked
                | Kind::NewLoginAddress
        )
    }

    /// The role whose accounts receive this kind, `None` for every account
    /// (the preferences page lists each account's own kinds).
    pub fn audience(self) -> Option<crate::domain::role::Role> {
        use crate::domain::role::Role;
        match self {
            Kind::RecommendationSubmitted | Kind::ObjectionReceived => Some(Role::Province),
            Kind::RecommendationReopened | Kind::DeadlineCity => Some(Role::City),
            Kind::ExpertAssigned | Kind::DeadlineExpert => Some(Role::Expert),
            Kind::PasswordReset | Kind::AccountLocked | Kind::NewLoginAddress => None,
            _ => Some(Role::Enterprise),
        }
    }
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(String),
}

/// A checked template: text and variable references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Piece>);

impl Template {
    /// Parses `src`, allowing only `allowed` variables; the error is Chinese.
    pub fn parse(src: &str, allowed: &[&str]) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = src.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("变量“{{{name}”缺少右花括号")),
                        }
                    }
                    let name = name.trim().to_string();
                    if !allowed.contains(&name.as_str()) && !COMMON_VARS.contains(&name.as_str()) {
                        return Err(format!(
                            "未知变量“{{{name}}}”（可用：{}）",
                            allowed
                                .iter()
                                .chain(COMMON_VARS.iter())
                                .map(|v| format!("{{{v}}}"))
                                .collect::<Vec<_>>()
                                .join("、")
                        ));
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Var(name));
                }
                '}' => return Err("多余的右花括号（字面花括号请写成 }}）".into()),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template(pieces))
    }

    /// The text with each variable replaced by its value ("" when missing).
    pub fn render(&self, vars: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => out.push_str(vars.get(v).map_or("", String::as_str)),
            }
        }
        out
    }
}

/// The subject and body of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText {
    pub subject: Template,
    pub body: Template,
}

/// Every kind's texts (complete: the loader refuses a definition without one).
#[derive(Debug, Clone, Default)]
pub struct Templates(pub BTreeMap<Kind, MessageText>);

/// A message as shown and e-mailed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

impl Templates {
    /// Renders `kind` with its variables plus the common ones.
    pub fn render(
        &self,
        kind: Kind,
        vars: &BTreeMap<String, String>,
        program: &str,
        issuer: &str,
    ) -> Rendered {
        let mut all = vars.clone();
        all.insert("program".into(), program.into());
        all.insert("issuer".into(), issuer.into());
        match self.0.get(&kind) {
            Some(t) => Rendered {
                subject: t.subject.render(&all),
                body: t.body.render(&all),
            },
            // Unreachable for a loaded definition (every kind is checked).
            None => Rendered {
                subject: kind.label().into(),
                body: String::new(),
            },
        }
    }
}

impl serde::Serialize for Templates {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.keys().map(|k| k.code()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_renders_variables_and_literal_braces() {
        let t = Template::parse("{enterprise}：{{原因}} {reason}", &["enterprise", "reason"])
            .expect("valid");
        let vars = BTreeMap::from([
            ("enterprise".to_string(), "甲公司".to_string()),
            ("reason".to_string(), "缺少营业执照".to_string()),
        ]);
        assert_eq!(t.render(&vars), "甲公司：{原因} 缺少营业执照");
    }

    #[test]
    fn unknown_variable_and_unclosed_brace_are_refused() {
        let e = Template::parse("{nobody}", &["enterprise"]).expect_err("unknown");
        assert!(e.contains("未知变量“{nobody}”"), "{e}");
        assert!(Template::parse("{enterprise", &["enterprise"]).is_err());
        assert!(Template::parse("a } b", &[]).is_err());
        assert!(Template::parse("{program}", &[]).is_ok());
    }

    #[test]
    fn kind_codes_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_code(k.code()), Some(k));
        }
    }

    const PROGRAM: &str = include_str!("../../programs/hubei-cloud-benchmark-2021/program.toml");
    const FORM: &str = include_str!("../../programs/hubei-cloud-benchmark-2021/form.toml");

    #[test]
    fn the_shipped_program_has_a_text_for_every_kind() {
        let def = crate::domain::form::ProgramDef::builtin();
        for k in Kind::ALL {
            let t = &def.program.messages.0[&k];
            let r = def
                .program
                .messages
                .render(k, &BTreeMap::new(), "项目", "厅");
            assert!(!r.subject.is_empty() && !r.body.is_empty(), "{k:?}");
            assert!(!t.body.0.is_empty());
        }
    }

    #[test]
    fn a_broken_message_text_stops_loading_with_its_line() {
        let bad = PROGRAM.replace(
            "您提交的申报书已被市州经信局退回修改。",
            "您提交的申报书已被{city}退回修改。",
        );
        let e = crate::domain::form::ProgramDef::from_sources(&bad, FORM).expect_err("unknown var");
        let p = &e.problems()[0];
        assert_eq!(p.file, "program.toml");
        assert!(
            p.reason.contains("application_returned") && p.reason.contains("{city}"),
            "{p}"
        );
        let line = bad.lines().nth(p.line - 1).unwrap_or("");
        assert!(line.starts_with("body"), "{line}");

        let missing = PROGRAM.replace("[messages.objection_decided]", "[messages.unknown_kind]");
        let e = crate::domain::form::ProgramDef::from_sources(&missing, FORM).expect_err("kinds");
        let reasons: Vec<&str> = e.problems().iter().map(|p| p.reason.as_str()).collect();
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("未知的消息类型“unknown_kind”")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("objection_decided")),
            "{reasons:?}"
        );

        // A definition written before an account-security kind existed
        // still loads, with the shipped text.
        let start = PROGRAM
            .find("[messages.two_factor_removed]")
            .expect("shipped");
        let end = PROGRAM[start + 1..]
            .find("\n[")
            .map_or(PROGRAM.len(), |i| start + 1 + i);
        let older = format!("{}{}", &PROGRAM[..start], &PROGRAM[end..]);
        let def = crate::domain::form::ProgramDef::from_sources(&older, FORM).expect("loads");
        assert!(def.program.messages.0.contains_key(&Kind::TwoFactorRemoved));
    }
}

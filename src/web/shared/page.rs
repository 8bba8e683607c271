//! What every page's layout needs: the viewer, navigation, CSRF token, banner.

use crate::domain::role::Role;
use crate::web::AppState;
use crate::web::shared::context::Ctx;

pub struct Nav {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

pub struct Page {
    pub title: String,
    pub user_name: Option<String>,
    pub role_label: &'static str,
    pub csrf: String,
    pub demo: bool,
    pub nav: Vec<Nav>,
    /// Unread messages of the viewer (the 消息中心 link in the header).
    pub unread: i64,
}

fn nav_for(role: Option<Role>) -> Vec<(&'static str, &'static str)> {
    let mut items = vec![("/", "首页")];
    match role {
        None => items.extend([
            ("/tongzhi", "通知公告"),
            ("/anli", "典型案例"),
            ("/login", "登录"),
            ("/register", "企业注册"),
        ]),
        Some(Role::Enterprise) => {
            items.extend([("/dashboard", "我的申报"), ("/account", "账号与安全")])
        }
        Some(Role::City) => items.extend([
            ("/dashboard", "工作台"),
            ("/city/applications", "申报受理"),
            ("/city/ranking", "评审排名"),
            ("/city/recommendation", "推荐报送"),
            ("/city/enterprises", "本地区企业"),
            ("/city/name-changes", "企业更名"),
            ("/city/objections", "异议核查"),
            ("/account", "账号与安全"),
        ]),
        Some(Role::Province) => items.extend([
            ("/dashboard", "工作台"),
            ("/province/batches", "申报批次"),
            ("/province/recommendations", "市州推荐"),
            ("/province/applications", "申报汇总"),
            ("/province/experts", "专家库"),
            ("/province/review", "专家评审"),
            ("/province/publication", "公示公告"),
            ("/province/cases", "典型案例"),
            ("/province/benchmarks", "已有标杆名单"),
            ("/province/exports", "导出材料"),
            ("/account", "账号与安全"),
        ]),
        Some(Role::SysAdmin) => items.extend([
            ("/dashboard", "工作台"),
            ("/admin/users", "账号管理"),
            ("/account", "账号与安全"),
        ]),
        Some(Role::SecAdmin) => items.extend([
            ("/dashboard", "工作台"),
            ("/admin/security", "安全管理"),
            ("/account", "账号与安全"),
        ]),
        Some(Role::Auditor) => items.extend([
            ("/dashboard", "工作台"),
            ("/admin/audit", "审计日志"),
            ("/account", "账号与安全"),
        ]),
        Some(Role::Expert) => items.extend([("/expert", "评审任务"), ("/account", "账号与安全")]),
    }
    items
}

impl Page {
    /// The frame of a page that is the same for every visitor (cached by
    /// browsers and proxies): no user, no form token.
    pub fn public(state: &AppState, title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            user_name: None,
            role_label: "",
            csrf: String::new(),
            demo: state.demo,
            unread: 0,
            nav: nav_for(None)
                .into_iter()
                .map(|(href, label)| Nav {
                    href,
                    label,
                    current: false,
                })
                .collect(),
        }
    }

    pub fn new(state: &AppState, ctx: &Ctx, title: impl Into<String>) -> Page {
        let role = ctx.user.as_ref().map(|u| u.role);
        let path = ctx.path.split('?').next().unwrap_or("/");
        // A temporary password must be changed first: offer nothing else.
        let items = if ctx.user.is_some() && ctx.must_change {
            vec![("/account/password", "修改密码")]
        } else {
            nav_for(role)
        };
        let nav = items
            .into_iter()
            .map(|(href, label)| Nav {
                href,
                label,
                current: if href == "/" {
                    path == "/"
                } else {
                    path.starts_with(href)
                },
            })
            .collect();
        Page {
            title: title.into(),
            user_name: ctx.user.as_ref().map(|u| u.display_name.clone()),
            role_label: role.map_or("", Role::label),
            csrf: ctx.csrf.clone(),
            demo: state.demo,
            nav,
            unread: ctx.unread,
        }
    }
}

/// A form field's error message, shown at the field and in the summary.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: &'static str,
    pub label: &'static str,
    pub message: String,
}

/// A form's field problems, and an action's refusal that belongs to no
/// field (shown as "操作未完成", not as a problem to fix before submitting).
#[derive(Debug, Clone, Default)]
pub struct Errors(pub Vec<FieldError>, pub String);

impl Errors {
    /// Takes the message a redirect carried (`flash::redirect`): under its
    /// field when `fields` names it (key, label), else as a refusal.
    pub fn from_flash(
        flash: Option<&crate::web::shared::flash::Flash>,
        fields: &[(&'static str, &'static str)],
    ) -> Errors {
        let mut errors = Errors::default();
        if let Some(f) = flash {
            match fields.iter().find(|(k, _)| *k == f.field) {
                Some((k, label)) => errors.add(k, label, f.message.clone()),
                None => errors.1 = f.message.clone(),
            }
        }
        errors
    }

    /// Shows a refused state change on its form: each field problem at its
    /// field, a broken rule or a stale page at `field`. Anything else is not
    /// the user's to fix and becomes the handler's error.
    pub fn refusal(
        &mut self,
        e: crate::services::Refusal,
        field: &'static str,
        label: &'static str,
    ) -> Result<(), crate::web::shared::error::AppError> {
        use crate::services::Refusal;
        match e {
            Refusal::Fields(fs) => {
                for (k, m) in fs {
                    self.add(k, label, m);
                }
            }
            Refusal::Rule(m) => self.add(field, label, m),
            Refusal::Stale => self.add(field, label, Refusal::Stale.to_string()),
            Refusal::Forbidden => return Err(crate::web::shared::error::AppError::Forbidden),
            e => return Err(anyhow::anyhow!(e.to_string()).into()),
        }
        Ok(())
    }

    pub fn add(&mut self, field: &'static str, label: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field,
            label,
            message: message.into(),
        });
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty() && self.1.is_empty()
    }
    /// The message for `field`, or "" (templates test for emptiness).
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map_or("", |e| e.message.as_str())
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }
}

//! The people who use shenbao.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Enterprise,
    City,
    Province,
    Expert,
    /// 系统管理员: accounts and configuration (三权分立).
    SysAdmin,
    /// 安全管理员: security policy, lock-outs and sessions.
    SecAdmin,
    /// 审计管理员: reads and exports the audit log, nothing else.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Enterprise,
        Role::City,
        Role::Province,
        Role::Expert,
        Role::SysAdmin,
        Role::SecAdmin,
        Role::Auditor,
    ];
    pub const STAFF: [Role; 6] = [
        Role::City,
        Role::Province,
        Role::Expert,
        Role::SysAdmin,
        Role::SecAdmin,
        Role::Auditor,
    ];
    /// The three administrators, each separate from the business roles.
    pub const ADMINS: [Role; 3] = [Role::SysAdmin, Role::SecAdmin, Role::Auditor];
    /// The staff accounts the system administrator manages in the browser.
    /// Administrator accounts are managed only at the server's command line
    /// (`shenbao user …`): a system administrator who could reset an audit
    /// or security administrator's password could act as them.
    pub const MANAGED: [Role; 3] = [Role::City, Role::Province, Role::Expert];

    /// One of the three administrators (三权分立).
    pub fn is_admin(self) -> bool {
        Role::ADMINS.contains(&self)
    }

    /// Officials (province, city bureaus, experts), as opposed to enterprises.
    pub fn is_staff(self) -> bool {
        self != Role::Enterprise
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Enterprise => "enterprise",
            Role::City => "city",
            Role::Province => "province",
            Role::Expert => "expert",
            Role::SysAdmin => "sysadmin",
            Role::SecAdmin => "secadmin",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Enterprise => "申报企业",
            Role::City => "市州经信局",
            Role::Province => "省经信厅",
            Role::Expert => "评审专家",
            Role::SysAdmin => "系统管理员",
            Role::SecAdmin => "安全管理员",
            Role::Auditor => "审计管理员",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

//! The people who use shenbao.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Enterprise,
    City,
    Province,
    Expert,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Enterprise, Role::City, Role::Province, Role::Expert];
    pub const STAFF: [Role; 3] = [Role::City, Role::Province, Role::Expert];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Enterprise => "enterprise",
            Role::City => "city",
            Role::Province => "province",
            Role::Expert => "expert",
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
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

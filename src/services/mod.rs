//! One function per state change. Each checks who asks, the deadline and the
//! rules, then writes the change with its audit entry (and timeline event,
//! for an application) in one atomic write, and returns a typed error that
//! says what was refused. Handlers parse, call one function, render.

pub mod batches;
pub mod cases;
pub mod exports;
pub mod name_changes;
pub mod notify;
pub mod publication;
pub mod reminders;
pub mod review;
pub mod scoring;
pub mod sealer;
pub mod security;
pub mod twofactor;

use crate::store::StoreError;

/// Why a state change was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A rule refused it; the message is for the user, in Chinese.
    #[error("{0}")]
    Rule(String),
    /// One or more fields are wrong: (field, message).
    #[error("填写有误")]
    Fields(Vec<(&'static str, String)>),
    /// Someone changed the object since the page was loaded.
    #[error("数据已被他人修改，请刷新页面后重试。")]
    Stale,
    #[error("无权进行此操作")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Refusal {
    /// A stale write shows as `Stale`; other store errors pass through.
    pub fn from_write(e: StoreError) -> Refusal {
        match e {
            StoreError::Conflict(_) => Refusal::Stale,
            e => Refusal::Store(e),
        }
    }
}

pub type Outcome<T> = Result<T, Refusal>;

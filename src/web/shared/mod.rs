//! What every room shares: the request context (session, CSRF, security
//! headers), the error type, the page frame and form errors, the role guard
//! put on a room's router, and the read-only dossier of an application that
//! the province and the experts both show.

pub mod chain_head;
pub mod context;
pub mod dossier;
pub mod error;
pub mod flash;
pub mod guard;
pub mod page;
pub mod programs;
pub mod sheet;
pub mod upload;

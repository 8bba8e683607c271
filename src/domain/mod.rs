//! The domain: programs, codes, rules. No I/O.

pub mod aggregate;
pub mod assignment;
pub mod calendar;
pub mod conflict;
pub mod contact;
pub mod credit_code;
pub mod digest;
pub mod form;
pub mod lifecycle;
pub mod notify;
pub mod password;
pub mod region;
pub mod role;
pub mod scoring;
pub mod totp;

//! The domain: programs, codes, rules. No I/O.

pub mod contact;
pub mod credit_code;
pub mod password;
pub mod region;
pub mod role;

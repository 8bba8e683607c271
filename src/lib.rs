//! shenbao (申报): runs a Chinese government enterprise-selection program end to end.

pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod docs;
pub mod domain;
pub mod files;
pub mod mail;
pub mod services;
pub mod store;
pub mod verify;
pub mod web;

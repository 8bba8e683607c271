//! Integration tests through the real router, in process, against a fresh
//! database per test: a temp SQLite file, or a fresh PostgreSQL schema when
//! TEST_DATABASE_URL is set.

mod helpers;

mod apply;
mod audit_log;
mod authorization;
mod backup;
mod batches;
mod city;
mod city_recommend;
mod documents;
mod duties;
mod exports;
mod hardening;
mod integrity;
mod login;
mod mail;
mod name_change;
mod notice;
mod notify;
mod passwords;
mod processes;
mod province_list;
mod publication;
mod registration;
mod review;
mod route_matrix;
mod sessions;
mod twofactor;
mod upgrade;
mod uploads;

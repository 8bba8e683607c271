//! The application form (申报书) as data.
//!
//! A program directory (`programs/<key>/`) holds `program.toml` (the program,
//! its batch, the 申报单位承诺 and the eligibility declarations) and
//! `form.toml` (the form: ordered sections, their fields with labels, hints,
//! options, units, table rows/columns, and the attachment slots).
//! [`ProgramDef::load`] reads and checks both; [`ProgramDef::builtin`] is the
//! shipped 2021 program. Everything the HTML form and the Word generator need
//! is reachable from [`FormDef::sections`].
//!
//! # Answers: the stored JSON
//!
//! The content of an application is one JSON object keyed by top-level field
//! key. Absent keys, `null` and blank strings all mean "not filled". Input is
//! stored as typed so that a draft keeps even invalid input; [`validate`]
//! reports on it and never changes it.
//!
//! | kind | stored as |
//! |---|---|
//! | `text`, `long_text`, `credit_code`, `mobile`, `email` | string as typed |
//! | `number` | string exactly as typed (`"1234.50"`, `"-12"`, even `"12万"` in a draft); a JSON number is read too |
//! | `date` | `"YYYY-MM-DD"` |
//! | `choice` | the option text `"机械"`; for a field with an "other, specify" option `{"choice": "其它", "other": "环保装备"}` (a plain string also reads) |
//! | `yes_no` | `true` / `false` (the strings 是/否 also read) |
//! | `multi_choice` | array of option texts |
//! | `fixed_table` | object keyed by row key, each row an object keyed by column key (`finance.2019.profit`) |
//! | `variable_table` | array of row objects keyed by column key; 序号 is the position (1-based when shown, 0-based in paths) |
//! | `cloud_services` | object keyed by service key, each `{"used": bool, <column key>: value…}` |
//! | `region` | `{"city": "420100", "county": "420106"}` |
//! | `acknowledgements` | object keyed by item key, `true` when confirmed |
//! | `display` | nothing |
//!
//! Fixed tables are keyed by row rather than stored as arrays, so that a row's
//! path (`finance.2019`) does not depend on order. Issue paths follow the same
//! structure: `finance.2019.profit`, `honours.0.date`,
//! `cloud_services.platform.provider`, `industry.other`, `region.county`,
//! `commitments.credit`.
//!
//! ```json
//! {
//!   "company_name": "襄阳汉江精密机械股份有限公司",
//!   "industry": {"choice": "其它", "other": "环保装备"},
//!   "credit_code": "914206021000077876",
//!   "founded": "2006-05-18",
//!   "above_scale": true,
//!   "region": {"city": "420600", "county": "420602"},
//!   "finance": {"2019": {"total_assets": "52310.25", "debt_ratio": "48.6",
//!                        "revenue": "61200", "tax": "2150.3", "profit": "-120.5", "it_staff": "36"}},
//!   "honours": [{"name": "湖北省两化融合试点示范企业", "level": "省级", "date": "2020-11-20"}],
//!   "cloud_services": {"platform": {"used": true, "service_name": "楚云工业互联网平台",
//!                                   "provider": "湖北楚云科技有限公司", "in_pool": true}},
//!   "cloud_goals": ["生产工艺流程优化", "设备管理优化"],
//!   "commitments": {"credit": true, "truthful": true, "responsibility": true},
//!   "construction": "……"
//! }
//! ```
//!
//! Uploads are not part of the answers; [`missing_attachments`] tells which
//! required slots are still empty.

mod attach;
mod canon;
mod check;
mod check_kinds;
mod compound;
mod definition;
mod load;
pub mod merge;
mod raw;
mod sample;
mod sample_text;
mod text;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_rules;

pub use attach::missing_attachments;
pub use canon::{canonical_json, fingerprint, fingerprint_matches, fingerprint_with};
pub use definition::*;
pub use load::{DefError, DefProblem, FORM_FILE, NOTICE_FILE, PROGRAM_FILE};
pub use sample::{sample_answers, sample_answers_for, sample_answers_in_city, sample_answers_on};
pub use text::{Number, bool_of, count_chars, is_filled, parse_number, text_of};
pub use validate::{Issue, Report, parse_date, validate};

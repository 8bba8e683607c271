//! Each batch's own program definition. The batch a server starts with uses
//! the definition given at start (`--program`, else the shipped one); a batch
//! the province creates in the browser keeps the texts it was created from
//! (`batch_programs`), so an earlier batch reads later exactly as it was.
//! Definitions never change once stored, so a parsed one is kept for good.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, RwLock};

use crate::domain::form::ProgramDef;
use crate::store::{Db, batches};
use crate::web::form_io::Plan;

/// A checked definition with how its form's posted fields become answers.
pub struct Defined {
    pub def: Arc<ProgramDef>,
    pub plan: Arc<Plan>,
}

impl Defined {
    pub fn new(def: Arc<ProgramDef>) -> Defined {
        let plan = Arc::new(Plan::new(&def.form));
        Defined { def, plan }
    }
}

impl Deref for Defined {
    type Target = ProgramDef;
    fn deref(&self) -> &ProgramDef {
        &self.def
    }
}

pub struct Programs {
    default: Arc<Defined>,
    by_batch: RwLock<HashMap<String, Arc<Defined>>>,
    /// Each application's batch (it never changes), so a draft save, which
    /// reads nothing before it writes, learns its form without a query.
    batch_of: RwLock<HashMap<String, Arc<str>>>,
}

/// Applications whose batch is kept; past it the map starts again.
const KEPT_APPLICATIONS: usize = 200_000;

impl Programs {
    pub fn new(default: Arc<ProgramDef>) -> Programs {
        Programs {
            default: Arc::new(Defined::new(default)),
            by_batch: RwLock::default(),
            batch_of: RwLock::default(),
        }
    }

    /// The definition started with (batches that have none of their own).
    pub fn default_def(&self) -> &Arc<Defined> {
        &self.default
    }

    /// The definition of `batch_id`: its own stored texts, else the default.
    pub async fn of(&self, db: &Db, batch_id: &str) -> anyhow::Result<Arc<Defined>> {
        if let Some(d) = self.by_batch.read().expect("programs").get(batch_id) {
            return Ok(d.clone());
        }
        let d = match batches::own_definition(db, batch_id).await? {
            None => self.default.clone(),
            Some(def) => Arc::new(Defined::new(Arc::new(def))),
        };
        self.by_batch
            .write()
            .expect("programs")
            .insert(batch_id.to_string(), d.clone());
        Ok(d)
    }

    /// The definition of application `app_id`'s batch (the default when there
    /// is no such application: the write that follows finds nothing either).
    pub async fn of_application(&self, db: &Db, app_id: &str) -> anyhow::Result<Arc<Defined>> {
        let known = self.batch_of.read().expect("programs").get(app_id).cloned();
        let batch: Arc<str> = match known {
            Some(b) => b,
            None => {
                let Some(b) = crate::store::applications::batch_of(db, app_id).await? else {
                    return Ok(self.default.clone());
                };
                let b: Arc<str> = b.into();
                let mut m = self.batch_of.write().expect("programs");
                if m.len() >= KEPT_APPLICATIONS {
                    m.clear();
                }
                m.insert(app_id.to_string(), b.clone());
                b
            }
        };
        self.of(db, &batch).await
    }
}

//! Writing a batch's province package to a file, with progress: shared by
//! `shenbao export` and the province's export job in the web UI.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use super::{load_city, package_selection, write_package};
use crate::domain::form::ProgramDef;
use crate::files::FileStore;
use crate::store::Db;

/// How many 申报书 the package of `batch_id` will hold.
pub async fn package_size(db: &Db, batch_id: &str) -> anyhow::Result<usize> {
    Ok(package_selection(db, batch_id)
        .await?
        .iter()
        .map(|c| c.len())
        .sum())
}

/// Writes the package of `batch_id` to `out` (through `out.zip.part`, renamed
/// when complete and synced), calling `progress(done, total)` as it goes.
/// Runs the CPU-bound part on a blocking thread; memory does not grow with
/// the number of applications (one city is loaded at a time).
pub async fn package_to_file(
    db: &Db,
    def: Arc<ProgramDef>,
    files: &FileStore,
    batch_id: &str,
    out: &Path,
    progress: impl FnMut(usize, usize) + Send + 'static,
) -> anyhow::Result<usize> {
    let selection = package_selection(db, batch_id).await?;
    let total: usize = selection.iter().map(|c| c.len()).sum();
    let part = out.with_extension("zip.part");
    let (db, files, part2) = (db.clone(), files.clone(), part.clone());
    let rt = tokio::runtime::Handle::current();
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let file = std::fs::File::create(&part2)?;
        let cities = selection
            .iter()
            .map(|c| rt.block_on(load_city(&db, &files, &def, c, rt.clone())));
        let mut w = write_package(BufWriter::new(file), &def, total, cities, progress)?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    })
    .await
    .map_err(|e| anyhow::anyhow!("导出中断：{e}"))
    .and_then(|r| r);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&part);
        return Err(e);
    }
    std::fs::rename(&part, out)?;
    Ok(total)
}

//! `shenbao export` and `shenbao export-blank`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::{blank_docx, package_selection};
use crate::clock::Clock;
use crate::domain::form::ProgramDef;
use crate::files::FileStore;
use crate::store::{Db, batches};

#[derive(Args)]
pub struct ExportArgs {
    /// The zip file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Batch id (default: the current batch).
    #[arg(long)]
    pub batch: Option<String>,
}

#[derive(Args)]
pub struct BlankArgs {
    /// The .docx file to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes the province package of a batch to `--out`, with a progress line
/// on stderr. The file appears only when complete.
pub async fn export(
    db: &Db,
    def: &ProgramDef,
    files: &FileStore,
    a: ExportArgs,
) -> anyhow::Result<()> {
    let batch = match &a.batch {
        Some(id) => batches::by_id(db, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("批次 {id} 不存在"))?,
        None => batches::current(db, Clock::system().now())
            .await?
            .ok_or_else(|| anyhow::anyhow!("还没有任何批次"))?,
    };
    let selection = package_selection(db, &batch.id).await?;
    let total: usize = selection.iter().map(|c| c.len()).sum();
    let sent = selection.iter().filter(|c| c.submitted).count();
    eprintln!(
        "批次：{}（{}），{} 个市州已报送推荐、{} 个未报送，{} 份申报书",
        batch.name,
        batch.id,
        sent,
        selection.len() - sent,
        total
    );
    drop(selection);
    let files = files.clone();
    let started = std::time::Instant::now();
    // The batch's own definition, when it was created with one.
    let def = batches::own_definition(db, &batch.id)
        .await?
        .unwrap_or_else(|| def.clone());
    let total =
        super::export::package_to_file(db, Arc::new(def), &files, &batch.id, &a.out, progress_line)
            .await?;
    eprintln!();
    println!(
        "已导出 {}（{} 份申报书，用时 {:.1} 秒）",
        a.out.display(),
        total,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `\r导出进度 [#####     ] 120/567 (21%)` on stderr.
fn progress_line(done: usize, total: usize) {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    eprint!(
        "\r导出进度 [{}{}] {done}/{total} ({pct}%)",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled)
    );
    let _ = std::io::stderr().flush();
}

/// Writes the blank 申报书 template.
pub fn export_blank(def: &ProgramDef, a: BlankArgs) -> anyhow::Result<()> {
    std::fs::write(&a.out, blank_docx(def))?;
    println!("已生成空白申报书模板：{}", a.out.display());
    Ok(())
}

//! Large logs: synthesizes a table's log directly (JSON commits, no data files), then opens it,
//! writes a checkpoint, and opens it again through the checkpoint, printing the time of each
//! step and the process's peak resident memory (`VmHWM` from `/proc/self/status`).
//!
//! ```sh
//! cargo run -p tidemark-core --example large_log -- commits 10000
//! cargo run -p tidemark-core --example large_log -- files 1000000
//! ```
//!
//! `commits N`: N commits of one `add` each. `files N`: N live files, in commits of 10,000
//! `add` actions each. The table is written under a temporary directory, removed at the end.
//! Figures are recorded in RELIABILITY.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Write;
use std::time::Instant;

use tidemark_core::checkpoint::write_checkpoint;
use tidemark_core::{Table, TableLocation, VersionSpec};

/// Peak resident set size of this process, in MiB (Linux only; 0 elsewhere).
fn peak_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn add_line(n: u64) -> String {
    format!(
        r#"{{"add":{{"path":"part-{n:09}.parquet","partitionValues":{{}},"size":1024,"modificationTime":1700000000000,"dataChange":true,"stats":"{{\"numRecords\":10}}"}}}}"#
    )
}

/// Writes the log: version 0 with protocol and metadata, then `commits` commits holding
/// `per_commit` adds each.
fn synthesize(
    log: &std::path::Path,
    commits: u64,
    per_commit: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(log)?;
    let schema = r#"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}"#;
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(log.join(format!("{:020}.json", 0)))?);
    writeln!(
        file,
        r#"{{"commitInfo":{{"timestamp":1700000000000,"operation":"CREATE TABLE"}}}}"#
    )?;
    writeln!(
        file,
        r#"{{"protocol":{{"minReaderVersion":1,"minWriterVersion":2}}}}"#
    )?;
    writeln!(
        file,
        r#"{{"metaData":{{"id":"large-log","format":{{"provider":"parquet","options":{{}}}},"schemaString":"{schema}","partitionColumns":[],"configuration":{{}},"createdTime":1700000000000}}}}"#
    )?;
    file.flush()?;
    let mut n = 0;
    for version in 1..=commits {
        let mut file = std::io::BufWriter::new(std::fs::File::create(
            log.join(format!("{version:020}.json")),
        )?);
        writeln!(
            file,
            r#"{{"commitInfo":{{"timestamp":{},"operation":"WRITE"}}}}"#,
            1_700_000_000_000 + version
        )?;
        for _ in 0..per_commit {
            writeln!(file, "{}", add_line(n))?;
            n += 1;
        }
        file.flush()?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (commits, per_commit) = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["commits", n] => (n.parse::<u64>()?, 1),
        ["files", n] => {
            let n = n.parse::<u64>()?;
            (n.div_ceil(10_000), 10_000.min(n))
        }
        _ => {
            eprintln!("usage: large_log (commits N | files N)");
            std::process::exit(2);
        }
    };
    let dir = tempfile::tempdir()?;
    let table = dir.path().join("t");
    let started = Instant::now();
    synthesize(&table.join("_delta_log"), commits, per_commit)?;
    println!(
        "synthesized {commits} commits, {} files, in {:.1?} (peak {} MiB)",
        commits * per_commit,
        started.elapsed(),
        peak_mib()
    );
    let location = TableLocation::parse(table.to_str().ok_or("path")?)?;

    let started = Instant::now();
    let snapshot = Table::from_location(location.clone())
        .snapshot(VersionSpec::Latest)
        .await?;
    println!(
        "opened version {} with {} files from JSON commits in {:.1?} (peak {} MiB)",
        snapshot.version(),
        snapshot.num_files(),
        started.elapsed(),
        peak_mib()
    );

    let started = Instant::now();
    let summary = write_checkpoint(&snapshot).await?;
    println!(
        "wrote a checkpoint of {} actions, {} bytes, in {:.1?} (peak {} MiB)",
        summary.actions,
        summary.size_in_bytes,
        started.elapsed(),
        peak_mib()
    );
    drop(snapshot);

    let started = Instant::now();
    let again = Table::from_location(location.clone())
        .snapshot(VersionSpec::Latest)
        .await?;
    println!(
        "opened version {} with {} files through the checkpoint in {:.1?} (peak {} MiB)",
        again.version(),
        again.num_files(),
        started.elapsed(),
        peak_mib()
    );
    assert_eq!(again.num_files() as u64, commits * per_commit);
    Ok(())
}

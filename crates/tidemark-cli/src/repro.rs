//! Reproducibility commands: tags, pins, manifests, verification and lineage, and the parts of
//! other commands that show snapshot ids and what tags and pins kept from vacuum.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::{Value, json};
use tidemark_core::TableLocation;
use tidemark_core::extensions::Reference;
use tidemark_core::extensions::lineage::{LineageNode, lineage};
use tidemark_core::extensions::manifest::{Manifest, build_manifest, verify_manifest};
use tidemark_core::extensions::pin::{PinOptions, create_pin, list_pins, release_pin};
use tidemark_core::extensions::tag::{TagOptions, create_tag, delete_tag, list_tags};
use tidemark_core::maintenance::vacuum::VacuumReport;
use tidemark_core::{Table, VersionSpec};

use crate::VersionArgs;
use crate::error::{CliError, CliResult};
use crate::output::{DocFormat, open_output};

/// `tidemark tag TABLE …`
#[derive(Debug, Subcommand)]
pub(crate) enum TagAction {
    /// Tag a version (the latest unless --version, --timestamp, --snapshot or --tag says
    /// otherwise). Tags cannot be overwritten.
    Create {
        /// The tag's name: letters, digits, '.', '_' and '-'.
        name: String,
        #[command(flatten)]
        at: VersionArgs,
        /// Why the tag is made.
        #[arg(long)]
        message: Option<String>,
        /// Who makes it.
        #[arg(long)]
        author: Option<String>,
    },
    /// List the tags.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Table)]
        format: DocFormat,
    },
    /// Delete a tag (its version's files are then no longer kept by vacuum on its account).
    Delete {
        /// The tag's name.
        name: String,
    },
}

/// `tidemark pin TABLE …`
#[derive(Debug, Subcommand)]
pub(crate) enum PinAction {
    /// Pin a version (the latest unless --version, --timestamp, --snapshot or --tag says
    /// otherwise): vacuum keeps its files until the pin is released or expires.
    Create {
        #[command(flatten)]
        at: VersionArgs,
        /// Who holds the pin (a training run, a person).
        #[arg(long)]
        owner: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        /// When the pin expires (RFC 3339).
        #[arg(long, conflicts_with = "ttl_hours")]
        expires: Option<String>,
        /// Expire the pin this many hours from now.
        #[arg(long)]
        ttl_hours: Option<f64>,
    },
    /// List the pins, expired ones too.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Table)]
        format: DocFormat,
    },
    /// Release a pin.
    Release {
        /// The pin's id, as `pin list` shows it.
        id: String,
    },
}

/// The version a command reads, from `--version`, `--timestamp`, `--snapshot` or `--tag`.
pub(crate) fn version_spec(at: &VersionArgs) -> CliResult<VersionSpec> {
    Ok(match (&at.version, &at.timestamp, &at.snapshot, &at.tag) {
        (Some(v), ..) => VersionSpec::Version(*v),
        (None, Some(t), ..) => VersionSpec::Timestamp(tidemark_core::snapshot::parse_instant(t)?),
        (None, None, Some(id), _) => VersionSpec::SnapshotId(id.clone()),
        (None, None, None, Some(tag)) => VersionSpec::Tag(tag.clone()),
        (None, None, None, None) => VersionSpec::Latest,
    })
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    )
}

fn print_doc(format: DocFormat, text: String, json: Value) -> CliResult<()> {
    let body = match format {
        DocFormat::Table => text,
        DocFormat::Json => serde_json::to_string_pretty(&json).map_err(|e| CliError::Encode {
            format: "json",
            reason: e.to_string(),
        })?,
    };
    print_to(None, &body)
}

fn print_to(path: Option<&str>, body: &str) -> CliResult<()> {
    let mut out = open_output(path)?;
    writeln!(out, "{}", body.trim_end())
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Output {
            target: path.unwrap_or("standard output").to_string(),
            source,
        })
}

/// `tidemark tag TABLE …`
pub(crate) async fn tag(table: &str, action: TagAction) -> CliResult<()> {
    let location = TableLocation::parse(table)?;
    match action {
        TagAction::Create {
            name,
            at,
            message,
            author,
        } => {
            let tag = create_tag(
                &location,
                &name,
                version_spec(&at)?,
                TagOptions { message, author },
            )
            .await?;
            eprintln!("tagged version {} as '{}'", tag.version, tag.name);
            println!("{}", tag.snapshot_id);
            Ok(())
        }
        TagAction::List { format } => {
            let tags = list_tags(&location).await?;
            let mut text = format!(
                "{:<24}  {:>7}  {:<24}  {:<16}  message\n",
                "tag", "version", "created", "author"
            );
            for tag in &tags {
                text.push_str(&format!(
                    "{:<24}  {:>7}  {:<24}  {:<16}  {}\n",
                    tag.name,
                    tag.version,
                    rfc3339(tag.created_time_ms),
                    tag.author.as_deref().unwrap_or("-"),
                    tag.message.as_deref().unwrap_or("")
                ));
            }
            let json = Value::Array(
                tags.iter()
                    .map(|t| {
                        json!({
                            "name": t.name,
                            "version": t.version,
                            "snapshotId": t.snapshot_id,
                            "tableId": t.table_id,
                            "message": t.message,
                            "author": t.author,
                            "created": rfc3339(t.created_time_ms),
                        })
                    })
                    .collect(),
            );
            print_doc(format, text, json)
        }
        TagAction::Delete { name } => {
            let tag = delete_tag(&location, &name).await?;
            println!("deleted tag '{}' (version {})", tag.name, tag.version);
            Ok(())
        }
    }
}

/// `tidemark pin TABLE …`
pub(crate) async fn pin(table: &str, action: PinAction) -> CliResult<()> {
    let location = TableLocation::parse(table)?;
    match action {
        PinAction::Create {
            at,
            owner,
            reason,
            expires,
            ttl_hours,
        } => {
            let expires_time_ms = match (expires, ttl_hours) {
                (Some(text), _) => {
                    Some(tidemark_core::snapshot::parse_instant(&text)?.timestamp_millis())
                }
                (None, Some(hours)) if hours.is_finite() && hours >= 0.0 => {
                    Some(Utc::now().timestamp_millis() + (hours * 3_600_000.0) as i64)
                }
                (None, Some(hours)) => {
                    return Err(CliError::Usage(format!(
                        "--ttl-hours {hours}: give a number of hours, 0 or more"
                    )));
                }
                (None, None) => None,
            };
            let pin = create_pin(
                &location,
                version_spec(&at)?,
                PinOptions {
                    owner,
                    reason,
                    expires_time_ms,
                },
            )
            .await?;
            eprintln!(
                "pinned version {} ({}){}",
                pin.version,
                pin.snapshot_id,
                pin.expires_time_ms
                    .map(|t| format!(" until {}", rfc3339(t)))
                    .unwrap_or_default()
            );
            println!("{}", pin.id);
            Ok(())
        }
        PinAction::List { format } => {
            let pins = list_pins(&location).await?;
            let now = Utc::now().timestamp_millis();
            let mut text = format!(
                "{:<42}  {:>7}  {:<16}  {:<24}  {:<8}  reason\n",
                "pin", "version", "owner", "expires", "state"
            );
            for pin in &pins {
                text.push_str(&format!(
                    "{:<42}  {:>7}  {:<16}  {:<24}  {:<8}  {}\n",
                    pin.id,
                    pin.version,
                    pin.owner,
                    pin.expires_time_ms.map_or("never".to_string(), rfc3339),
                    if pin.is_expired(now) {
                        "expired"
                    } else {
                        "active"
                    },
                    pin.reason
                ));
            }
            let json = Value::Array(
                pins.iter()
                    .map(|p| {
                        json!({
                            "id": p.id,
                            "version": p.version,
                            "snapshotId": p.snapshot_id,
                            "target": p.target,
                            "owner": p.owner,
                            "reason": p.reason,
                            "created": rfc3339(p.created_time_ms),
                            "expires": p.expires_time_ms.map(rfc3339),
                            "expired": p.is_expired(now),
                        })
                    })
                    .collect(),
            );
            print_doc(format, text, json)
        }
        PinAction::Release { id } => {
            let pin = release_pin(&location, &id).await?;
            println!("released pin '{}' (version {})", pin.id, pin.version);
            Ok(())
        }
    }
}

/// `tidemark manifest TABLE [--snapshot ID …] [--output PATH]`
pub(crate) async fn manifest(table: &str, at: &VersionArgs, output: Option<&str>) -> CliResult<()> {
    let snapshot = Table::open(table)?.snapshot(version_spec(at)?).await?;
    let manifest = build_manifest(&snapshot).await?;
    let body = serde_json::to_string_pretty(&manifest).map_err(|e| CliError::Encode {
        format: "json",
        reason: e.to_string(),
    })?;
    if output.is_some() {
        eprintln!(
            "manifest of {} ({} files) written",
            manifest.snapshot_id,
            manifest.files.len()
        );
    }
    print_to(output, &body)
}

/// `tidemark verify MANIFEST [--table URI]`: exits non-zero when anything differs.
pub(crate) async fn verify(path: &str, table: Option<&str>, format: DocFormat) -> CliResult<()> {
    let owned = path.to_string();
    let text = tokio::task::spawn_blocking(move || std::fs::read_to_string(owned))
        .await
        .map_err(|e| CliError::Usage(format!("cannot read the manifest '{path}': {e}")))?
        .map_err(|e| CliError::Usage(format!("cannot read the manifest '{path}': {e}")))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "'{path}' is not a Tidemark manifest (as `tidemark manifest` writes): {e}"
        ))
    })?;
    let location = table.map(TableLocation::parse).transpose()?;
    let report = verify_manifest(&manifest, location.as_ref()).await?;
    let mut out = String::new();
    for difference in &report.differences {
        out.push_str(&format!("DIFFERENT  {difference}\n"));
    }
    out.push_str(&format!(
        "{}: {} files ({} bytes) checked against {}, {} differences",
        if report.is_ok() { "OK" } else { "FAILED" },
        report.files_checked,
        report.bytes_checked,
        report.snapshot_id,
        report.differences.len()
    ));
    let json = json!({
        "ok": report.is_ok(),
        "snapshotId": report.snapshot_id,
        "filesChecked": report.files_checked,
        "bytesChecked": report.bytes_checked,
        "differences": report.differences.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
    });
    print_doc(format, out, json)?;
    if report.is_ok() {
        Ok(())
    } else {
        Err(CliError::Check(format!(
            "the table no longer holds what the manifest '{path}' records: {} differences",
            report.differences.len()
        )))
    }
}

/// `tidemark lineage TABLE [--version N]`
pub(crate) async fn show_lineage(
    table: &str,
    version: Option<u64>,
    format: DocFormat,
) -> CliResult<()> {
    let location = TableLocation::parse(table)?;
    let root = lineage(&location, version).await?;
    let mut text = String::new();
    render_node(&root, "", "", &mut text);
    if root.inputs.is_empty() {
        text.push_str("(no recorded inputs)\n");
    }
    print_doc(format, text, node_json(&root))
}

fn render_node(node: &LineageNode, first: &str, rest: &str, out: &mut String) {
    out.push_str(&format!(
        "{first}{} @ version {} ({}){}\n",
        node.table,
        node.version,
        node.snapshot_id,
        node.problem
            .as_ref()
            .map(|p| format!("  [!] {p}"))
            .unwrap_or_default()
    ));
    let count = node.inputs.len();
    for (i, input) in node.inputs.iter().enumerate() {
        let last = i + 1 == count;
        let branch = format!("{rest}{}", if last { "└─ " } else { "├─ " });
        let indent = format!("{rest}{}", if last { "   " } else { "│  " });
        render_node(input, &branch, &indent, out);
    }
}

fn node_json(node: &LineageNode) -> Value {
    json!({
        "table": node.table,
        "version": node.version,
        "snapshotId": node.snapshot_id,
        "problem": node.problem,
        "inputs": node.inputs.iter().map(node_json).collect::<Vec<_>>(),
    })
}

/// Parses `--input-table URI@REF` (REF: a snapshot id, a version number, or a tag name) and
/// checks that it resolves; returns the table and the snapshot id to record.
pub(crate) async fn lineage_input(spec: &str) -> CliResult<(String, String)> {
    let (table, reference) = spec.rsplit_once('@').ok_or_else(|| {
        CliError::Usage(format!(
            "--input-table '{spec}': give TABLE@SNAPSHOT_ID (or TABLE@VERSION, TABLE@TAG)"
        ))
    })?;
    let at = if reference.starts_with("tm1.") {
        VersionSpec::SnapshotId(reference.to_string())
    } else if let Ok(version) = reference.parse::<u64>() {
        VersionSpec::Version(version)
    } else {
        VersionSpec::Tag(reference.to_string())
    };
    let location = TableLocation::parse(table)?;
    let snapshot = Table::from_location(location.clone()).snapshot(at).await?;
    // The table's normalised URL: a relative path would name another table elsewhere.
    Ok((location.url().to_string(), snapshot.snapshot_id()?))
}

/// Lines and JSON fields that say what tags and pins kept from a vacuum.
pub(crate) fn vacuum_protection(report: &VacuumReport) -> (String, Value) {
    let mut text = String::new();
    let mut protected = Vec::new();
    for entry in &report.protected {
        text.push_str(&format!(
            "kept {} files for {} (version {})\n",
            entry.files.len(),
            entry.reference,
            entry.version
        ));
        for file in &entry.files {
            text.push_str(&format!("  {file}\n"));
        }
        let (kind, name) = match &entry.reference {
            Reference::Tag { name } => ("tag", name.clone()),
            Reference::Pin { id, .. } => ("pin", id.clone()),
        };
        protected.push(json!({
            "kind": kind,
            "name": name,
            "version": entry.version,
            "files": entry.files,
        }));
    }
    for pin in &report.expired_pins {
        text.push_str(&format!(
            "expired pin '{}' (owner {}, version {}, expired {}) protects nothing\n",
            pin.id,
            pin.owner,
            pin.version,
            pin.expires_time_ms.map(rfc3339).unwrap_or_default()
        ));
    }
    let expired: Vec<Value> = report
        .expired_pins
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "owner": p.owner,
                "version": p.version,
                "expires": p.expires_time_ms.map(rfc3339),
            })
        })
        .collect();
    (
        text,
        json!({ "protected": protected, "expiredPins": expired }),
    )
}

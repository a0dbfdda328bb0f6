#!/usr/bin/env bash
# Tidemark's main job on a local table: three versions of a small sales table written from CSV
# files (a partitioned first load, an append, a restatement of one region), then its history,
# an old version read back by number and by time, and a checkpoint.
#
#   bash examples/demo.sh [TABLE_DIR]      (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
table="${1:-$(mktemp -d)/sales}"
tidemark() { cargo run -q -p tidemark-cli -- "$@"; }
data=examples/data

echo "== version 0: first load, partitioned by region"
tidemark write "$table" "$data/sales-day1.csv" --partition-by region --message "day 1 load" --author demo --meta source=pos
sleep 1
echo "== version 1: append the next day"
tidemark write "$table" "$data/sales-day2.csv" --message "day 2 load" --author demo
sleep 1
t1="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
sleep 1
echo "== version 2: restate the US rows (replace-where)"
tidemark write "$table" "$data/sales-us-restated.csv" --replace-where "region = 'US'" --message "US restatement" --author demo

echo "== history"
tidemark history "$table"
echo "== version 0, read back"
tidemark scan "$table" --version 0
echo "== as of $t1 (version 1)"
tidemark scan "$table" --timestamp "$t1" --columns id,region,amount
echo "== latest"
tidemark scan "$table"
echo "== SQL: what the restatement changed (version 1 against the latest)"
tidemark sql --table sales="$table" \
  "SELECT old.id, old.amount AS before, new.amount AS after
     FROM sales VERSION AS OF 1 old JOIN sales new ON old.id = new.id
    WHERE old.amount <> new.amount ORDER BY old.id"
echo "== checkpoint"
tidemark checkpoint "$table"
tidemark describe "$table"
echo "table written to $table"

#!/usr/bin/env bash
# Peak RSS of the download engine against the number of tasks in its ledger: plans N archive
# files (5-minute hydrophone FLAC, rendered at a tiny sample rate) with `run-tasks --plan-only`
# and downloads them all with `resume` from a `sim serve` at time scale 0, for N = 5,000 and
# 50,000, then runs `status` on each ledger. Memory should not grow with N (the scheduler reads the
# ledger a few rows at a time).
#
# Usage: scripts/bench_engine_memory.sh [N...]   (default: 5000 50000; needs ~1 GB of disk)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=("${@:-5000 50000}")
read -r -a SIZES <<<"${SIZES[*]}"
BIN=${BIN:-target/debug/onc-hydro}
[ -x "$BIN" ] || cargo build --quiet
WORK=$(mktemp -d)
trap 'kill "$SIM_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
TOKEN=00000000-0000-4000-8000-000000000000

"$BIN" sim serve --time-scale 0 --audio-sample-rate 20 --now 2026-01-01T00:00:00Z >"$WORK/sim.out" &
SIM_PID=$!
for _ in $(seq 100); do [ -s "$WORK/sim.out" ] && break; sleep 0.1; done
BASE=$(head -n1 "$WORK/sim.out" | grep -o 'http://[^ ]*')
echo "simulator at $BASE"

peak_rss() { # prints "max RSS in MB" of the command
  /usr/bin/time -f '%M' -o "$WORK/rss" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; return 1; }
  awk '{printf "%.1f", $1/1024}' "$WORK/rss"
}

for N in "${SIZES[@]}"; do
  python3 - "$BASE" "$TOKEN" "$N" "$WORK/tasks_$N.json" <<'PY'
import json, sys, urllib.parse, urllib.request
base, token, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
q = {"deviceCode": "ICLISTENHF6324", "dateFrom": "2023-06-01T00:00:00.000Z",
     "dateTo": "2025-06-01T00:00:00.000Z", "fileExtension": "flac", "returnOptions": "all",
     "token": token}
url = base + "api/archivefile/device?" + urllib.parse.urlencode(q)
tasks = []
while url and len(tasks) < n:
    page = json.load(urllib.request.urlopen(url))
    for f in page["files"]:
        size = f.get("uncompressedFileSize") or f.get("fileSize")
        tasks.append({"kind": "archive", "filename": f["filename"], "size": size, "folder": "audio"})
    nxt = page.get("next")
    url = nxt["url"] if nxt else None
tasks = tasks[:n]
assert len(tasks) == n, f"only {len(tasks)} files listed"
json.dump(tasks, open(out, "w"))
PY
  OUT="$WORK/out_$N"
  PRSS=$(peak_rss "$BIN" run-tasks --plan-only --tasks "$WORK/tasks_$N.json" --out "$OUT" \
        --server-time-scale 0.001 --max-rps 0)
  START=$(date +%s.%N)
  RSS=$(peak_rss env ONC_TOKEN=$TOKEN "$BIN" --base-url "$BASE" resume "$OUT" --quiet)
  END=$(date +%s.%N)
  DONE=$(ONC_TOKEN=$TOKEN "$BIN" status "$OUT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_state"].get("done",0))')
  SRSS=$(peak_rss "$BIN" status "$OUT")
  printf 'tasks %6d: plan %s MB; run (resume) peak RSS %s MB, %.1f s, %d done; status %s MB; ledger %s\n' \
    "$N" "$PRSS" "$RSS" "$(echo "$END - $START" | bc)" "$DONE" "$SRSS" "$(du -h "$OUT/ledger.sqlite" | cut -f1)"
  rm -rf "$OUT"
done

#!/usr/bin/env bash
# Seed 004, scenario 2 at the real service's pace (simulator time scale 1), three ways:
#   1. the recorded schedule replayed (scripts/replay_seed004.py: 14 requests 3 s apart, 30 s
#      polls, 4 download workers; the real run took 102.6 s);
#   2. onc-hydro with its default 4 run slots;
#   3. onc-hydro with 14 run slots (the concurrency the recorded run had).
# Each against a fresh `sim serve --time-scale 1` (loopback only). Prints wall seconds.
# Usage: bash scripts/measure_seed004.sh [path/to/onc-hydro]   (default target/release/onc-hydro)
set -euo pipefail
BIN=${1:-target/release/onc-hydro}
TOKEN=00000000-0000-4000-8000-000000000000   # the simulator's demo token, not a secret
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

serve() {  # starts a fresh simulator, sets URL
  "$BIN" sim serve --time-scale 1 --addr 127.0.0.1:0 > "$WORK/url" 2>"$WORK/serve.err" &
  SIM_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/url" ] && break; sleep 0.1; done
  URL=$(head -n1 "$WORK/url" | grep -o 'http://[^ ]*')
  case "$URL" in */) ;; *) URL="$URL/" ;; esac
}
stop() { kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; : > "$WORK/url"; }
secs() { python3 -c 'import time; print(time.monotonic())'; }

serve
t0=$(secs); python3 scripts/replay_seed004.py "$URL" > "$WORK/replay.log"; t1=$(secs)
stop
echo "recorded schedule replayed: $(python3 -c "print(f'{$t1-$t0:.1f}')") s ($(grep -c . "$WORK/replay.log") log lines; real run 102.6 s)"

for slots in 4 14; do
  serve
  t0=$(secs)
  "$BIN" --base-url "$URL" --token "$TOKEN" sample --device ICLISTENHF6324 \
    --from 2024-04-01T00:00:00Z --to 2024-04-03T00:00:00Z --count 160 --per-request 12 \
    --run-slots "$slots" --out "$WORK/out$slots" --quiet > "$WORK/run$slots.log" 2>&1 \
    || { cat "$WORK/run$slots.log"; exit 1; }
  t1=$(secs)
  stop
  n=$(find "$WORK/out$slots" -name '*.mat' | wc -l)
  echo "onc-hydro --run-slots $slots: $(python3 -c "print(f'{$t1-$t0:.1f}')") s, $n MAT files"
done

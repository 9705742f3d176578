#!/usr/bin/env bash
# Stops the single-node Slurm cluster that scripts/slurm_up.sh started: only the daemons whose
# pid files it wrote (slurmd, slurmctld, and munged if it started munged), TERM then KILL.
# Safe to run when nothing is running. Needs root (as slurm_up.sh).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
RUN=${SLURM_CI_RUN:-/run/slurm-ci}

stop_pidfile() {  # stop one daemon whose pid file we own; TERM, then KILL
  local f=$1 p
  [ -s "$f" ] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop_pidfile "$RUN/slurmd.pid"
stop_pidfile "$RUN/slurmctld.pid"
if [ -f "$RUN/munged.ours" ]; then
  stop_pidfile "$(cat "$RUN/munged.ours")"
  rm -f "$RUN/munged.ours"
fi
echo "slurm_down: daemons we started are stopped"

#!/usr/bin/env bash
# Starts a real one-node Slurm cluster on localhost for the Slurm integration test (derived from
# the shared single-node recipe): installs Debian's slurm-wlm + munge if missing, starts munged
# (unless one already answers), writes /etc/slurm/slurm.conf with this machine's node line from
# `slurmd -C`, starts slurmctld and slurmd without systemd, and waits until the node is idle
# (about 20 s with the packages installed). Stop it with scripts/slurm_down.sh, which stops only
# what this script started (pid files in /run/slurm-ci). Needs root (or passwordless sudo).
#
#   bash scripts/slurm_up.sh && cargo test --locked --test it slurm_ -- --ignored
#   bash scripts/slurm_down.sh
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=/var/spool/slurm-ci            # controller + slurmd state
RUN=${SLURM_CI_RUN:-/run/slurm-ci}  # our pid files + record of what we started
LOG=/var/log/slurm-ci
CONF=/etc/slurm/slurm.conf          # default path: client tools need no environment
T0=$(date +%s)
ts() { echo "[slurm_up +$(( $(date +%s) - T0 ))s] $*"; }

mkdir -p "$RUN"
bash "$HERE/slurm_down.sh" >/dev/null   # idempotent: stop what an earlier run left

if ! { command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged; } >/dev/null; then
  made_policy=0   # keep package scripts from starting services
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  ts "installed $(slurmd -V)"
fi

# munge: reuse a running munged, else start ours and remember that it is ours.
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key \
  || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge; chmod 755 /run/munge
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged --force
  for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null
  echo /run/munge/munged.pid > "$RUN/munged.ours"
  ts "munged started"
fi

H=$(hostname -s)
NODE=$(slurmd -C | head -1 | sed -e 's/ RealMemory=[0-9]*//')   # memory is not scheduled
mkdir -p /etc/slurm "$BASE/ctld" "$BASE/d" "$LOG"
cat > "$CONF" <<CONF
# single-node CI cluster, written by onc-hydro scripts/slurm_up.sh
ClusterName=ci
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
StateSaveLocation=$BASE/ctld
SlurmdSpoolDir=$BASE/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF

rm -rf "$BASE/ctld" "$BASE/d"; mkdir -p "$BASE/ctld" "$BASE/d"   # fresh state
/usr/sbin/slurmctld -i
/usr/sbin/slurmd
st=""
for _ in $(seq 1 150); do
  st=$(sinfo -h -o %T 2>/dev/null | head -1 || true)
  [ "$st" = idle ] && break; sleep 0.2
done
if [ "$st" != idle ]; then
  ts "node not idle (state '$st')"; tail -20 "$LOG/slurmctld.log" "$LOG/slurmd.log" || true
  exit 1
fi
ts "cluster up: slurmctld $(cat "$RUN/slurmctld.pid"), slurmd $(cat "$RUN/slurmd.pid"), node $H idle"

#!/usr/bin/env bash
# Starts and stops a real one-node Slurm cluster on this machine, for tests.
#
#   bash scripts/slurm-local.sh start DIR   installs slurm-wlm and munge if missing (Debian, root),
#                                           writes every config, key, state and log file into DIR,
#                                           starts munged, slurmctld and slurmd, waits until the node
#                                           is idle and prints `export ...` lines for `eval`
#   bash scripts/slurm-local.sh stop DIR    stops what `start DIR` started; idempotent, always exits 0
#
# A caller does:
#   eval "$(bash scripts/slurm-local.sh start /tmp/slurm)" || exit   # 77: cannot run Slurm here
#   sbatch --wrap 'hostname'; ...
#   bash scripts/slurm-local.sh stop /tmp/slurm
#
# Nothing in /etc is needed or changed (beyond what the packages install): clients and daemons
# find the cluster through SLURM_CONF=DIR/slurm.conf, and that file points Slurm at DIR's own
# munged socket (AuthInfo=socket=...; libmunge reads no environment variable for it), so a munged
# or Slurm already running on the machine is left alone.
# `start` exits 77 (the "skip" code of automake and others) with one line on stderr when the
# daemons cannot start here, after stopping whatever it had started.
set -euo pipefail

# Descriptors a caller left open without close-on-exec (a test runner's pipes) would pass to the
# daemons, which would hold them open, and the caller would wait for their end forever: close all
# but stdin, stdout, stderr and bash's own script descriptor (255).
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
done

readonly SKIP=77
# How long the node may take to come up, and a daemon to exit after SIGTERM.
readonly START_TIMEOUT=60
readonly STOP_TIMEOUT=10
# How long stop waits for cancelled jobs to end before it stops the daemons anyway.
readonly JOB_END_TIMEOUT=15
# Memory left to the rest of the machine; slurmd drains a node that reports less than RealMemory.
readonly MEMORY_MARGIN_MB=512
# Ports are picked from here: above the default 6817-6819, so a system Slurm does not clash.
readonly PORT_FIRST=16817
readonly PORT_LAST=16999

log() { echo "slurm-local: $*" >&2; }

usage() {
  echo "usage: bash scripts/slurm-local.sh start|stop DIR" >&2
  exit 2
}

# --- installing ----------------------------------------------------------------------------------

install_packages() {
  local missing=() package
  for package in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  # The munge, slurmctld and slurmd packages start their services on install (invoke-rc.d runs
  # the init script even without systemd), with /etc's config and the default ports. A
  # policy-rc.d answering 101 ("not allowed") keeps them from starting; one that the machine
  # already has (container images ship one) is left as it is.
  local policy=/usr/sbin/policy-rc.d created=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# scripts/slurm-local.sh: no service starts while it installs packages.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created=yes
  fi
  local status=0
  { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$DIR/apt.log" 2>&1 || status=$?
  [ -n "$created" ] && rm -f "$policy"
  if [ $status -ne 0 ]; then
    echo "slurm-local: apt-get install ${missing[*]} failed: $(tail -n 3 "$DIR/apt.log" | tr '\n' ' ')" >&2
    exit $SKIP
  fi
}

# --- configuration -------------------------------------------------------------------------------

port_is_free() {
  ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# Prints N free TCP ports in a row from PORT_FIRST..PORT_LAST (slurmctld, slurmd, then a block
# for srun). Consecutive ports keep slurm.conf simple; a port taken between this check and the
# daemon's bind shows up as a start failure in the log.
free_ports() {
  local count=$1 first port ok
  for ((first = PORT_FIRST; first + count - 1 <= PORT_LAST; first++)); do
    ok=yes
    for ((port = first; port < first + count; port++)); do
      port_is_free "$port" || { ok=""; first=$port; break; }
    done
    if [ -n "$ok" ]; then seq "$first" $((first + count - 1)); return 0; fi
  done
  return 1
}

make_dirs() {
  # Fresh state and logs on every start: a test cluster should not resume the last run's jobs,
  # and a failure's log tail should be this run's.
  rm -rf "$DIR/state" "$DIR/spool" "$DIR/log"
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run" "$DIR/munge"
  # munged refuses a key, socket or log whose directory others can write to, and a socket
  # directory that others cannot enter (clients of every user must reach the socket): 0755.
  chmod 755 "$DIR" "$DIR/munge" "$DIR/run" "$DIR/log"
}

make_munge_key() {
  local key=$DIR/munge/munge.key
  [ -s "$key" ] && return 0
  # 1024 random bytes is what mungekey makes; dd works with every munge version.
  dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
  chmod 400 "$key"
}

# slurm.conf lines that make slurmctld, slurmd and srun listen on 127.0.0.1 only, not on every
# address. Slurm then binds to what the host name resolves to (not to NodeAddr or SlurmctldHost's
# address), so this holds only where HOST resolves to 127.0.0.1 (as /etc/hosts has it here);
# elsewhere (e.g. Debian's "127.0.1.1 host") they listen on all addresses, as by default.
loopback_only_lines() {
  local host=$1
  if [ "$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }')" = 127.0.0.1 ]; then
    echo "CommunicationParameters=NoCtldInAddrAny,NoInAddrAny"
  else
    echo "# $host does not resolve to 127.0.0.1: the daemons listen on all addresses."
  fi
}

write_slurm_conf() {
  local host=$1 ctld_port=$2 slurmd_port=$3 srun_first=$4 srun_last=$5 cpus memory
  cpus=$(nproc)
  memory=$(($(free -m | awk '/^Mem:/ { print $2 }') - MEMORY_MARGIN_MB))
  [ "$memory" -gt 0 ] || memory=1
  cat >"$DIR/slurm.conf" <<EOF
# Written by scripts/slurm-local.sh: a one-node test cluster, everything under $DIR.
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SrunPortRange=$srun_first-$srun_last
$(loopback_only_lines "$host")
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Our own munged, not the system one at /run/munge/munge.socket.2.
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: containers and VMs often lack a writable cgroup tree.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# There is no mail here; the default /usr/bin/mail may not exist either.
MailProg=/bin/true
ReturnToService=2
# Short timeouts: a test cluster should notice a dead slurmd quickly and not linger on stop.
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
# No accounting, so "scontrol show job" is the only record of a finished job: keep it 5 minutes.
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

# --- daemons -------------------------------------------------------------------------------------

# The pid in DIR/run/NAME.pid if that process is alive and is still NAME (pids get reused).
running_pid() {
  local name=$1 file=$DIR/run/$1.pid pid
  [ -s "$file" ] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && alive "$pid" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
  echo "$pid"
}

# Whether PID is a live process. An exited daemon stays a zombie until PID 1 reaps it, and PID 1
# in containers and VMs (here a process_api) may take seconds to: a zombie counts as gone.
alive() {
  local state
  state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# Waits up to $2 seconds for NAME's pid file to name a live NAME process.
wait_for_pid() {
  local name=$1 deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    running_pid "$name" >/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# Stops the start and exits 77 with one line: why, and the tail of the first non-empty log of
# those given (a daemon's own log file, or its stderr if it died before opening that).
give_up() {
  local why=$1 logfile tail=""
  shift
  for logfile in "$@"; do
    if [ -s "$logfile" ]; then
      tail="log $logfile: $(tail -n 5 "$logfile" | tr '\n' ' ' | tr -s ' ')"
      break
    fi
  done
  stop_daemons >/dev/null 2>&1 || true
  echo "slurm-local: cannot start Slurm here: $why${tail:+ ($tail)}" >&2
  exit $SKIP
}

start_munged() {
  # Every daemon's stdin/stdout/stderr go to files: the caller reads our stdout through
  # $(...), which would wait forever for a daemon holding that pipe open.
  munged --key-file="$DIR/munge/munge.key" \
    --socket="$DIR/munge/munge.socket" \
    --pid-file="$DIR/run/munged.pid" \
    --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munged.seed" \
    </dev/null >>"$DIR/log/munged.out" 2>&1 ||
    give_up "munged exited with status $?" "$DIR/log/munged.log" "$DIR/log/munged.out"
  wait_for_pid munged 10 || give_up "munged did not start" "$DIR/log/munged.log" "$DIR/log/munged.out"
  # A credential that round-trips through our socket proves the key and socket work.
  munge --socket="$DIR/munge/munge.socket" -n </dev/null 2>>"$DIR/log/munged.out" |
    unmunge --socket="$DIR/munge/munge.socket" >/dev/null 2>>"$DIR/log/munged.out" ||
    give_up "munge credentials do not round-trip" "$DIR/log/munged.out"
}

start_slurm_daemon() {
  local name=$1
  shift
  # Both daemonize by themselves after reading slurm.conf and write their pid files.
  SLURM_CONF=$DIR/slurm.conf "$name" "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 ||
    give_up "$name exited with status $?" "$DIR/log/$name.log" "$DIR/log/$name.out"
  wait_for_pid "$name" 15 || give_up "$name did not start" "$DIR/log/$name.log" "$DIR/log/$name.out"
}

# Waits until sinfo shows the node idle; gives up with the logs' tails on timeout.
wait_for_idle() {
  local host=$1 deadline=$((SECONDS + START_TIMEOUT)) state=""
  while [ $SECONDS -lt $deadline ]; do
    state=$(SLURM_CONF=$DIR/slurm.conf sinfo -h -n "$host" -o %t 2>/dev/null | head -n 1 || true)
    [ "$state" = idle ] && return 0
    # slurmd registered but slurmctld refused the node (e.g. less memory or CPUs than slurm.conf
    # says): it will not become idle by itself.
    case "$state" in
      drain* | drng* | inval* | fail*)
        give_up "node $host is $state: $(SLURM_CONF=$DIR/slurm.conf sinfo -h -n "$host" -o %E 2>/dev/null)" \
          "$DIR/log/slurmctld.log" ;;
    esac
    # A daemon that died will not bring the node up: say so now rather than at the timeout.
    running_pid slurmctld >/dev/null || give_up "slurmctld died" "$DIR/log/slurmctld.log"
    running_pid slurmd >/dev/null || give_up "slurmd died" "$DIR/log/slurmd.log"
    sleep 0.5
  done
  give_up "node $host not idle after ${START_TIMEOUT}s (state '${state:-none}')" "$DIR/log/slurmd.log"
}

# Sends SIGTERM to each NAME's daemon at once, waits for all, then SIGKILLs what is left. Quiet
# and successful for a daemon that is not running.
stop_daemon() {
  local name pid pids=() deadline
  for name in "$@"; do
    if pid=$(running_pid "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  deadline=$((SECONDS + STOP_TIMEOUT))
  for pid in "${pids[@]}"; do
    while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if alive "$pid"; then
      log "$(cat "/proc/$pid/comm" 2>/dev/null) ($pid) still running after ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while alive "$pid"; do sleep 0.1; done
    fi
  done
  for name in "$@"; do rm -f "$DIR/run/$name.pid"; done
}

# slurmstepd processes (one per running job step) outlive slurmd, and jobs that could not be
# cancelled (slurmctld dead) keep theirs. Ours carry our SLURM_CONF in their environment, which
# tells them from another cluster's. Each sits in a session of its own (it daemonizes) with the
# job's processes: SIGKILL to that session ends the job too, not only its stepd.
stop_stepds() {
  local pid sid
  for pid in $(pgrep -x slurmstepd 2>/dev/null || true); do
    alive "$pid" || continue
    # 2>/dev/null first: it must be in place before the < of a process that just exited fails.
    tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "SLURM_CONF=$DIR/slurm.conf" || continue
    sid=$(ps -o sid= -p "$pid" 2>/dev/null | tr -dc '0-9')
    # Never session 0 or 1, nor ours (a stepd always has its own session; this is a guard).
    if [ -n "$sid" ] && [ "$sid" -gt 1 ] && [ "$sid" != "$(ps -o sid= -p $$ | tr -dc '0-9')" ]; then
      pkill -KILL -s "$sid" 2>/dev/null || true
    fi
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# Cancels every job, whoever submitted it, and waits up to JOB_END_TIMEOUT for them to leave
# squeue (running ones pass through COMPLETING while slurmd signals them).
cancel_jobs() {
  local deadline=$((SECONDS + JOB_END_TIMEOUT)) jobs
  export SLURM_CONF=$DIR/slurm.conf
  # squeue and scancel against a dead slurmctld retry for seconds: check it is alive each time.
  while [ $SECONDS -lt $deadline ] && running_pid slurmctld >/dev/null; do
    jobs=$(timeout 5 squeue -h -o %i 2>/dev/null) || break
    [ -z "$jobs" ] && break
    # shellcheck disable=SC2086 # one job id a word
    timeout 5 scancel $jobs >/dev/null 2>&1 || true
    sleep 0.2
  done
  unset SLURM_CONF
}

stop_daemons() {
  [ -d "$DIR/run" ] || return 0
  # Cancel jobs first, while slurmctld and slurmd can still end them and their steps cleanly.
  # slurmd busy ending jobs ignores SIGTERM for a while, so wait until squeue shows none.
  if running_pid slurmctld >/dev/null && command -v scancel >/dev/null; then
    cancel_jobs
  fi
  stop_daemon slurmd slurmctld
  stop_stepds
  # munged last: slurmd and slurmctld may still sign a message while they shut down.
  stop_daemon munged
}

# --- commands ------------------------------------------------------------------------------------

start() {
  local host ports
  # SlurmUser=root, and munged and slurmd must run as the user that owns the key and spool.
  if [ "$(id -u)" -ne 0 ]; then
    echo "slurm-local: cannot start Slurm here: needs root (SlurmUser=root)" >&2
    exit $SKIP
  fi
  install_packages
  # A start over a running cluster restarts it rather than leaving two.
  stop_daemons
  # slurmd finds its NodeName line by the short host name; `hostname -s` is what it compares.
  host=$(hostname -s)
  [ -n "$host" ] || give_up "no host name"
  make_dirs
  make_munge_key
  mapfile -t ports < <(free_ports 12) || true
  [ ${#ports[@]} -eq 12 ] || give_up "no 12 free ports in $PORT_FIRST-$PORT_LAST"
  write_slurm_conf "$host" "${ports[0]}" "${ports[1]}" "${ports[2]}" "${ports[11]}"
  start_munged
  start_slurm_daemon slurmctld
  start_slurm_daemon slurmd
  wait_for_idle "$host"
  echo "export SLURM_CONF=$DIR/slurm.conf"
}

main() {
  [ $# -eq 2 ] || usage
  local command=$1
  case "$command" in
    start) mkdir -p "$2" ;;
    stop) [ -d "$2" ] || exit 0 ;;
    *) usage ;;
  esac
  # Absolute, so the paths written into slurm.conf and printed for the caller work from anywhere.
  DIR=$(cd "$2" && pwd -P)
  readonly DIR
  if [ "$command" = start ]; then
    start
  else
    stop_daemons || true
  fi
}

main "$@"

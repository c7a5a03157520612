#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, to try workflow/profiles/slurm/ and for
# tests/e2e/test_slurm.py. Debian 12 with Slurm 22.05 and MUNGE, as root:
#
#   apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
#   sudo scripts/slurm_local.sh start     # writes /etc/slurm/slurm.conf, starts munged, slurmctld, slurmd
#   sudo scripts/slurm_local.sh status    # sinfo and the queue
#   sudo scripts/slurm_local.sh stop      # stops what `start` started, removes its slurm.conf
#
# `start` is idempotent: daemons that already run are left alone, and it returns once the node
# is idle. It refuses to overwrite a /etc/slurm/slurm.conf it did not write (a real cluster's).
# State, spool, logs and pid files go to $MUSICFUSION_SLURM_DIR (default /var/tmp/musicfusion-slurm).
#
# Why the settings below (measured on a 2-core Debian 12 machine):
# - The config must be /etc/slurm/slurm.conf: a job step strips every SLURM_* variable, so
#   SLURM_CONF would not reach the srun the executor plugin runs inside each job.
# - The controller and the node are reached at 127.0.0.1, whether or not the host name resolves.
# - Daemons run as root (SlurmUser=root), with no cgroups (proctrack/linuxproc, task/none), so
#   they work in containers and VMs without a systemd-managed cgroup tree.
# - cons_tres with CR_Core_Memory shares the node between jobs by cores and memory; without
#   DefMemPerCPU one job without a memory request would take the node's whole memory.
# - No accounting daemon (slurmdbd): run Snakemake with `--slurm-status-command squeue`.
#   MinJobAge=300 keeps finished jobs visible to squeue long enough for the plugin to see them end.
set -euo pipefail

STATE_DIR=${MUSICFUSION_SLURM_DIR:-/var/tmp/musicfusion-slurm}
CONF=/etc/slurm/slurm.conf
MARKER="# Written by musicfusion scripts/slurm_local.sh"
WAIT_SECONDS=${MUSICFUSION_SLURM_WAIT:-60}

die() { echo "slurm_local.sh: $*" >&2; exit 1; }
say() { echo "slurm_local.sh: $*"; }

usage() {
    echo "usage: $0 start|stop|status" >&2
    exit 2
}

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (it writes $CONF and starts munged, slurmctld and slurmd)"
}

require_tools() {
    local missing=()
    for tool in slurmctld slurmd sinfo scontrol squeue sbatch munged; do
        command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || missing+=("$tool")
    done
    ((${#missing[@]} == 0)) || die "missing ${missing[*]}: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
}

pid_alive() {  # pid_alive FILE: the pid in FILE names a running process
    [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

ours() {  # the config at $CONF was written by this script
    [[ -f $CONF ]] && head -n 1 "$CONF" | grep -qF "$MARKER"
}

write_conf() {
    local host cpus mem_total real_mem tmp
    host=$(hostname -s)
    cpus=$(nproc)
    mem_total=$(free -m | awk '/^Mem:/ {print $2}')
    # Leave the system 10% (at least 512 MB): a node reporting less memory than RealMemory is drained.
    real_mem=$((mem_total - (mem_total / 10 > 512 ? mem_total / 10 : 512)))
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
$MARKER: a one-node test cluster.
# Remove it with \`scripts/slurm_local.sh stop\`.
ClusterName=musicfusion
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
MinJobAge=300
ReturnToService=2
InactiveLimit=0
KillWait=30
Waittime=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    if [[ -f $CONF ]] && cmp -s "$tmp" "$CONF"; then
        rm -f "$tmp"
        return 1  # unchanged
    fi
    install -d -m 0755 /etc/slurm
    install -m 0644 "$tmp" "$CONF"
    rm -f "$tmp"
    say "wrote $CONF (node $host, $cpus CPUs, RealMemory=$real_mem MB)"
    return 0
}

start_munge() {
    local key=/etc/munge/munge.key
    install -d -o munge -g munge -m 0700 /etc/munge
    if [[ ! -s $key ]]; then
        if command -v mungekey >/dev/null 2>&1 || [[ -x /usr/sbin/mungekey ]]; then
            mungekey --create --keyfile="$key" --force
        else
            dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
        fi
        say "created $key"
    fi
    chown munge:munge "$key"
    chmod 0400 "$key"
    install -d -o munge -g munge -m 0755 /run/munge
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0  # a munged already answers
    fi
    runuser -u munge -- /usr/sbin/munged </dev/null >>"$STATE_DIR/munged.out" 2>&1
    touch "$STATE_DIR/munged.started-here"
    local i
    for i in $(seq 50); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && { say "munged started"; return 0; }
        sleep 0.1
    done
    die "munged does not answer (see $STATE_DIR/munged.out)"
}

node_state() {
    sinfo -h -N -n "$(hostname -s)" -o '%T' 2>/dev/null | head -n 1
}

start() {
    require_root
    require_tools
    if [[ -f $CONF ]] && ! ours; then
        die "$CONF exists and was not written by this script: refusing to replace a real cluster's configuration"
    fi
    install -d -m 0755 "$STATE_DIR" "$STATE_DIR/state" "$STATE_DIR/spool"
    local changed=0
    write_conf && changed=1
    start_munge
    if ((changed)) && { pid_alive "$STATE_DIR/slurmctld.pid" || pid_alive "$STATE_DIR/slurmd.pid"; }; then
        say "configuration changed: restarting the daemons"
        stop_daemons
    fi
    # Daemonised, with their stdio detached, so a caller that captures output does not hang.
    # -c: a fresh controller forgets the jobs of an earlier session (a job left "running" by a
    # killed daemon would hold its CPUs for ever); -i: ignore damaged state files.
    if ! pid_alive "$STATE_DIR/slurmctld.pid"; then
        slurmctld -c -i </dev/null >>"$STATE_DIR/slurmctld.out" 2>&1 || die "slurmctld failed (see $STATE_DIR/slurmctld.log)"
        say "slurmctld started"
    fi
    if ! pid_alive "$STATE_DIR/slurmd.pid"; then
        slurmd </dev/null >>"$STATE_DIR/slurmd.out" 2>&1 || die "slurmd failed (see $STATE_DIR/slurmd.log)"
        say "slurmd started"
    fi
    local state="" deadline=$((SECONDS + WAIT_SECONDS))
    while ((SECONDS < deadline)); do
        state=$(node_state)
        case $state in
            idle | mixed | allocated | completing) say "node $(hostname -s) is $state"; return 0 ;;
            drain* | down*)
                # Left over from an earlier run (e.g. a daemon killed): bring it back.
                scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 0.5
    done
    die "node not idle after ${WAIT_SECONDS}s (state '${state:-none}'; see $STATE_DIR/slurmctld.log and slurmd.log)"
}

wait_gone() {  # wait_gone PIDFILE: until its process has exited (10 s), then kill it
    local pid i
    [[ -s $1 ]] || return 0
    pid=$(cat "$1")
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$1"
}

stop_daemons() {
    # Jobs still queued or running are cancelled first: a job step outlives slurmd otherwise.
    if pid_alive "$STATE_DIR/slurmctld.pid"; then
        local jobs i
        jobs=$(squeue -h -t PENDING,RUNNING,SUSPENDED -o '%i' 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            for i in $(seq 100); do
                [[ -z $(squeue -h -t PENDING,RUNNING,SUSPENDED,COMPLETING -o '%i' 2>/dev/null) ]] && break
                sleep 0.1
            done
            say "cancelled jobs $(echo $jobs)"
        fi
    fi
    # `scontrol shutdown` stops slurmctld and every slurmd it knows; the pid files catch the rest.
    if pid_alive "$STATE_DIR/slurmctld.pid"; then
        scontrol shutdown >/dev/null 2>&1 || kill -TERM "$(cat "$STATE_DIR/slurmctld.pid")" 2>/dev/null || true
    fi
    if pid_alive "$STATE_DIR/slurmd.pid"; then
        sleep 0.5
        pid_alive "$STATE_DIR/slurmd.pid" && kill -TERM "$(cat "$STATE_DIR/slurmd.pid")" 2>/dev/null || true
    fi
    wait_gone "$STATE_DIR/slurmctld.pid"
    wait_gone "$STATE_DIR/slurmd.pid"
}

stop() {
    require_root
    if [[ -f $CONF ]] && ! ours; then
        die "$CONF was not written by this script: leaving that cluster alone"
    fi
    stop_daemons
    say "slurmctld and slurmd stopped"
    if [[ -f $STATE_DIR/munged.started-here ]]; then
        local pid
        pid=$(cat /run/munge/munged.pid 2>/dev/null || true)
        [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || true
        rm -f "$STATE_DIR/munged.started-here"
        say "munged stopped"
    fi
    ours && rm -f "$CONF" && say "removed $CONF"
    return 0
}

status() {
    if ! ours; then
        echo "no cluster of this script ($CONF missing or not ours)"
        return 1
    fi
    sinfo
    squeue --states=all
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac

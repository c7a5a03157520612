#!/usr/bin/env bash
# A team's MLflow tracking server on one machine: PostgreSQL holds the runs, a shared folder the
# artifacts (README: "A shared tracking server").
#
#   scripts/tracking_server.sh [start]   create what is missing, start what is down, wait until it answers
#   scripts/tracking_server.sh stop      stop the MLflow server, then PostgreSQL (the data is kept)
#   scripts/tracking_server.sh status    exit 0 if the server answers, 1 otherwise
#   scripts/tracking_server.sh uri       print the tracking URI (for params.yaml tracking.uri)
#
# Non-interactive and idempotent: a second `start` finds everything running and returns at once.
# PostgreSQL refuses to run as root: as root its cluster is created and run as the `postgres` user
# (the folders above TRACKING_SERVER_DIR must let that user through); as anyone else, as that user.
#
# Settings (environment variables):
#   TRACKING_SERVER_DIR    state: PostgreSQL's data, logs, pid file, database password
#                          (default /var/tmp/musicfusion-tracking-$USER)
#   TRACKING_ARTIFACTS     where the server keeps artifacts: a local folder or a shared one (an NFS
#                          mount) or a URI such as s3://bucket/path (default $TRACKING_SERVER_DIR/artifacts)
#   TRACKING_HOST          address the MLflow server binds to (default 127.0.0.1; 0.0.0.0 for a team)
#   TRACKING_PORT          its port (default 5000)
#   TRACKING_ALLOWED_HOSTS passed to --allowed-hosts (e.g. mlflow.example.org,10.0.0.5:5000): the
#                          server answers requests for these host names besides localhost and private IPs
#   TRACKING_WORKERS       its worker processes (default 1)
#   TRACKING_PG_PORT       PostgreSQL's port, on 127.0.0.1 only (default 5433)
#   TRACKING_DB_PASSWORD   the `mlflow` database role's password (default: generated once, kept in
#                          $TRACKING_SERVER_DIR/pgpass, which the server reads: it is never on a command line)
#   TRACKING_START_TIMEOUT seconds to wait for the server to answer (default 180)
#   MLFLOW_SERVER_ENABLE_JOB_EXECUTION  MLflow's server jobs, for GenAI features (default false here:
#                          the workflow needs none, and they are seven more processes)
#   PG_BIN                 PostgreSQL's programs (default: the newest /usr/lib/postgresql/*/bin)
#   MLFLOW                 the mlflow command (default: the project's .venv/bin/mlflow, else mlflow on PATH)
#                          Its Python needs the PostgreSQL driver: pip install -e ".[server]"
set -euo pipefail

ACTION=${1:-start}
PROJECT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${TRACKING_SERVER_DIR:-/var/tmp/musicfusion-tracking-$(id -un)}
HOST=${TRACKING_HOST:-127.0.0.1}
PORT=${TRACKING_PORT:-5000}
WORKERS=${TRACKING_WORKERS:-1}
PG_PORT=${TRACKING_PG_PORT:-5433}
TIMEOUT=${TRACKING_START_TIMEOUT:-180}
DB=mlflow ROLE=mlflow

die() { echo "tracking_server.sh: $*" >&2; exit 1; }
say() { echo "tracking_server.sh: $*"; }

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
ARTIFACTS=${TRACKING_ARTIFACTS:-$DIR/artifacts}
PGDATA=$DIR/postgres SOCKETS=$DIR/sockets PGPASS=$DIR/pgpass
MLFLOW_PID=$DIR/mlflow.pid MLFLOW_LOG=$DIR/mlflow.log PG_LOG=$DIR/postgres.log
CLIENT_HOST=$HOST
[[ $CLIENT_HOST == 0.0.0.0 ]] && CLIENT_HOST=127.0.0.1
URI=http://$CLIENT_HOST:$PORT

if [[ -z ${PG_BIN:-} ]]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n $PG_BIN ]] || PG_BIN=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
fi
if [[ -z ${MLFLOW:-} ]]; then
    MLFLOW=$PROJECT/.venv/bin/mlflow
    [[ -x $MLFLOW ]] || MLFLOW=$(command -v mlflow 2>/dev/null || echo "$MLFLOW")
fi

# PostgreSQL's programs run as the cluster's owner: `postgres` when we are root, else ourselves.
if [[ $(id -u) == 0 ]]; then
    PG_USER=postgres
    id "$PG_USER" >/dev/null 2>&1 || die "PostgreSQL refuses to run as root and there is no 'postgres' user"
    as_pg() { runuser -u "$PG_USER" -- "$@"; }
else
    PG_USER=$(id -un)
    as_pg() { "$@"; }
fi
# The cluster's superuser over its private socket (trust, and only its owner may open the socket).
psql_admin() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKETS" -p "$PG_PORT" -U postgres -d postgres "$@"; }

answers() {
    if command -v curl >/dev/null; then
        curl -fsS -o /dev/null --max-time 3 "$URI/health" 2>/dev/null
    else
        "$(dirname "$MLFLOW")/python" -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=3)" \
            "$URI/health" 2>/dev/null
    fi
}
# A live process of process group $1 (a zombie is not: `kill -0` would count it until it is reaped).
group_alive() {
    local stat fields
    for stat in /proc/[0-9]*/stat; do
        fields=$(cat "$stat" 2>/dev/null) || continue
        read -r -a fields <<<"${fields##*) }"  # state, ppid, process group, ...
        [[ ${fields[0]} != Z && ${fields[2]} == "$1" ]] && return 0
    done
    return 1
}
mlflow_running() { [[ -f $MLFLOW_PID ]] && group_alive "$(cat "$MLFLOW_PID")"; }
pg_running() { [[ -f $PGDATA/PG_VERSION ]] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

start_postgres() {
    [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] \
        || die "PostgreSQL's programs are not in $PG_BIN (Debian: apt-get install postgresql; or set PG_BIN)"
    install -d -m 700 -o "$PG_USER" "$SOCKETS"
    if [[ ! -f $PGDATA/PG_VERSION ]]; then
        as_pg test -x "$DIR" || die "user $PG_USER cannot reach $DIR: choose TRACKING_SERVER_DIR elsewhere \
(every folder above it must be searchable by $PG_USER, e.g. under /var/tmp)"
        install -d -m 700 -o "$PG_USER" "$PGDATA"
        say "creating a PostgreSQL cluster in $PGDATA"
        as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1 || die "initdb failed: see $DIR/initdb.log"
    fi
    if ! pg_running; then
        touch "$PG_LOG" && chown "$PG_USER" "$PG_LOG"
        say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PG_LOG" -w -t 60 start -o \
            "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $SOCKETS -c unix_socket_permissions=0700" >/dev/null \
            || die "PostgreSQL did not start: $(tail -n 5 "$PG_LOG")"
    fi
    # The role and database MLflow uses, with its password in a pgpass file only the server reads.
    local password=${TRACKING_DB_PASSWORD:-}
    if [[ -z $password && -f $PGPASS ]]; then
        password=$(cut -d: -f5- "$PGPASS")
    fi
    [[ -n $password ]] || password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    [[ $password != *[:\\\'\"]* ]] || die "TRACKING_DB_PASSWORD may not hold : \\ ' or \""
    (umask 077 && echo "127.0.0.1:$PG_PORT:$DB:$ROLE:$password" >"$PGPASS")
    local verb=ALTER  # the password on stdin, not on a command line
    [[ -n $(psql_admin -tA -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'") ]] || verb=CREATE
    psql_admin <<<"$verb ROLE $ROLE LOGIN PASSWORD '$password'"
    if [[ -z $(psql_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
        psql_admin -c "CREATE DATABASE $DB OWNER $ROLE ENCODING 'UTF8'"
    fi
}

start_mlflow() {
    if answers; then
        say "the MLflow server already answers at $URI"
        return
    fi
    if mlflow_running; then
        say "the MLflow server (pid $(cat "$MLFLOW_PID")) is starting: waiting"
    else
        [[ -x $MLFLOW ]] || die "no mlflow command at $MLFLOW (set MLFLOW, or install the project)"
        if "$(dirname "$MLFLOW")/python" -c 1 2>/dev/null; then
            "$(dirname "$MLFLOW")/python" -c "import psycopg2" 2>/dev/null \
                || die "the PostgreSQL driver is missing beside $MLFLOW: pip install -e \".[server]\""
        fi
        case $ARTIFACTS in
            *://*) ;;
            *) mkdir -p "$ARTIFACTS"; ARTIFACTS=$(cd "$ARTIFACTS" && pwd) ;;
        esac
        local args=(server --backend-store-uri "postgresql://$ROLE@127.0.0.1:$PG_PORT/$DB"
                    --artifacts-destination "$ARTIFACTS" --serve-artifacts
                    --host "$HOST" --port "$PORT" --workers "$WORKERS")
        [[ -n ${TRACKING_ALLOWED_HOSTS:-} ]] && args+=(--allowed-hosts "$TRACKING_ALLOWED_HOSTS")
        say "starting the MLflow server on $HOST:$PORT (artifacts in $ARTIFACTS, log in $MLFLOW_LOG)"
        # Its own session (process group), so that `stop` ends its workers too. Without job
        # execution: those are GenAI jobs (scorers, trace archival), and seven more processes.
        PGPASSFILE=$PGPASS MLFLOW_SERVER_ENABLE_JOB_EXECUTION=${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false} \
            setsid "$MLFLOW" "${args[@]}" >>"$MLFLOW_LOG" 2>&1 </dev/null &
        echo $! >"$MLFLOW_PID"
    fi
    local deadline=$((SECONDS + TIMEOUT))
    until answers; do
        mlflow_running || die "the MLflow server exited: $(tail -n 20 "$MLFLOW_LOG")"
        ((SECONDS < deadline)) || die "the MLflow server did not answer within $TIMEOUT s: see $MLFLOW_LOG"
        sleep 1
    done
    say "the MLflow server answers at $URI"
}

stop_mlflow() {
    if mlflow_running; then
        local pid
        pid=$(cat "$MLFLOW_PID")
        say "stopping the MLflow server (pid $pid)"
        kill -TERM -- "-$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            group_alive "$pid" || break
            sleep 0.5
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$MLFLOW_PID"
}

stop_postgres() {
    if pg_running; then
        say "stopping PostgreSQL"
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    fi
}

case $ACTION in
    start)
        start_postgres
        start_mlflow
        echo "Point the workflow at it: tracking.uri: $URI in params.yaml, or export MLFLOW_TRACKING_URI=$URI"
        ;;
    stop)
        stop_mlflow
        stop_postgres
        ;;
    status)
        if answers; then say "answers at $URI"; else say "does not answer at $URI"; exit 1; fi
        ;;
    uri)
        echo "$URI"
        ;;
    *)
        die "usage: $0 [start|stop|status|uri]"
        ;;
esac

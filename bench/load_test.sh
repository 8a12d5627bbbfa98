#!/usr/bin/env bash
# Load test, run by hand: logged-in doctors browsing worklists, specimen pages and patient
# histories against gunicorn and PostgreSQL, all on loopback on this machine.
#
# Starts (or reuses) a PostgreSQL cluster under /tmp/celinsight-loadtest, migrates, generates
# the synthetic load once (kept for later runs of the same size), starts gunicorn, runs locust
# headless twice (with think time, then a closed loop), prints p50/p95/p99 and req/s per page,
# and stops the servers (the data stays). See bench/README.md.
set -euo pipefail

usage() {
  cat <<EOF
Usage: bench/load_test.sh [options]
  --users N                  concurrent simulated doctors (32)
  --duration S               measured seconds per run, after every user has logged in (60)
  --max-requests N           also stop a run after N requests (0: no limit)
  --think MIN-MAX            seconds between pages in the first run (0.5-2)
  --no-closed-loop           skip the second run without think time
  --patients N               synthetic patients (10000)
  --specimens-per-patient K  (2)
  --images-per-specimen M    (10)
  --doctors D                synthetic doctors the patients are shared among (10)
  --screeners S              synthetic cytotechnologists logged in as half the users (4;
                             0: pathologists only, for trees before the screening queue)
  --workers W --threads T    gunicorn processes (2) and threads per process (1: sync
                             workers; more: gthread workers)
  --explain                  only print the pages' query counts and EXPLAIN ANALYZE of the
                             worklist's and the patient history's main queries
  --regenerate               drop the database and generate the load again
EOF
}

USERS=32 DURATION=60 MAX_REQUESTS=0 THINK=0.5-2 CLOSED_LOOP=1
PATIENTS=10000 SPECIMENS=2 IMAGES=10 DOCTORS=10 SCREENERS=4 WORKERS=2 THREADS=1
EXPLAIN_ONLY=0 REGENERATE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --users) USERS="$2"; shift ;;
    --duration) DURATION="$2"; shift ;;
    --max-requests) MAX_REQUESTS="$2"; shift ;;
    --think) THINK="$2"; shift ;;
    --no-closed-loop) CLOSED_LOOP=0 ;;
    --patients) PATIENTS="$2"; shift ;;
    --specimens-per-patient) SPECIMENS="$2"; shift ;;
    --images-per-specimen) IMAGES="$2"; shift ;;
    --doctors) DOCTORS="$2"; shift ;;
    --screeners) SCREENERS="$2"; shift ;;
    --workers) WORKERS="$2"; shift ;;
    --threads) THREADS="$2"; shift ;;
    --explain) EXPLAIN_ONLY=1 ;;
    --regenerate) REGENERATE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "Unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

source "$(dirname "${BASH_SOURCE[0]}")/../bin/_venv.sh"
ensure_venv "$ROOT/requirements-dev.txt"  # locust is a development requirement
cd "$ROOT"
PYTHON="$VENV/bin/python"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$PG_BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)." >&2; exit 1; }

WORK="${LOADTEST_WORK:-/tmp/celinsight-loadtest}"  # another tree side by side: its own folder
PGDATA="$WORK/postgres"
RESULTS="$WORK/results"
SIZE="patients=$PATIENTS specimens-per-patient=$SPECIMENS images-per-specimen=$IMAGES doctors=$DOCTORS"
PASSWORD="loadtest-doctor-password"  # synthetic users only, on a throwaway loopback database
mkdir -p "$WORK" "$RESULTS"

# PostgreSQL refuses to run as root: as root the cluster belongs to the postgres user.
if [ "$(id -u)" = 0 ]; then
  chown postgres "$WORK"
  as_db_owner() { runuser -u postgres -- "$@"; }
else
  as_db_owner() { "$@"; }
fi
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Servers must not inherit the descriptor of a lock held around this script (flock LOCK
# bench/load_test.sh): a PostgreSQL left running would hold the lock after the script ends.
close_inherited_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd="${fd##*/}"
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
  done
}

GUNICORN_PID=""
stop_servers() {
  if [ -n "$GUNICORN_PID" ]; then
    kill "$GUNICORN_PID" 2>/dev/null
    wait "$GUNICORN_PID" 2>/dev/null || true
  fi
  as_db_owner "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
}
trap stop_servers EXIT

start_postgres() {
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    as_db_owner "$PG_BIN/initdb" -D "$PGDATA" -U postgres -A trust --no-sync >"$WORK/initdb.log"
  fi
  if ! as_db_owner "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    # Throwaway data: fsync off. shared_buffers holds the whole load (about 1 GB).
    local options="-c listen_addresses=127.0.0.1 -p $(free_port) -k $PGDATA -c fsync=off"
    options+=" -c shared_buffers=1GB -c max_connections=100"
    (close_inherited_fds; as_db_owner "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" \
      -w start -o "$options" >/dev/null)
  fi
  PG_PORT="$(sed -n 4p "$PGDATA/postmaster.pid")"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/celinsight"
}

database() { as_db_owner "$PG_BIN/$1" -h 127.0.0.1 -p "$PG_PORT" -U postgres celinsight; }

prepare_data() {
  if [ "$REGENERATE" = 1 ] || [ "$(cat "$WORK/generated" 2>/dev/null)" != "$SIZE" ]; then
    rm -f "$WORK/generated"
    database dropdb 2>/dev/null || true
  fi
  database createdb 2>/dev/null || true
  "$PYTHON" manage.py migrate --no-input -v 0
  if [ ! -f "$WORK/generated" ]; then
    echo "Generating the synthetic load ($SIZE) ..."
    local started=$SECONDS
    "$PYTHON" manage.py generate_synthetic_load --patients "$PATIENTS" \
      --specimens-per-patient "$SPECIMENS" --images-per-specimen "$IMAGES" \
      --doctors "$DOCTORS" --password "$PASSWORD" --batch-size 500 \
      $([ "$SCREENERS" -gt 0 ] && echo --cytotechnologists "$SCREENERS") | tail -n 12
    as_db_owner "$PG_BIN/vacuumdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres --analyze -q celinsight
    echo "Generated in $((SECONDS - started)) s (vacuum and analyze included)."
    echo "$SIZE" >"$WORK/generated"
  fi
  # Once: compressing the static files takes a minute, and locust does not fetch them.
  [ -d "$CELINSIGHT_VAR_DIR/staticfiles" ] || "$PYTHON" manage.py collectstatic --no-input -v 0
}

# Two sync workers by default: the pages are CPU-bound, and on 2 cores shared with PostgreSQL
# and locust, more concurrent requests only interleave and each takes longer (3 workers, or
# 5 x 2 threads, gave a higher p95 at the same load).
start_gunicorn() {
  WEB_PORT="$(free_port)"
  WORKER_CLASS=sync
  [ "$THREADS" -gt 1 ] && WORKER_CLASS=gthread
  "$VENV/bin/gunicorn" celinsight.wsgi --bind "127.0.0.1:$WEB_PORT" \
    --workers "$WORKERS" --threads "$THREADS" --worker-class "$WORKER_CLASS" \
    --log-level warning >"$RESULTS/gunicorn.log" 2>&1 &
  GUNICORN_PID=$!
  for _ in $(seq 150); do
    curl -fs -o /dev/null "http://127.0.0.1:$WEB_PORT/accounts/login/" && return 0
    sleep 0.2
  done
  echo "gunicorn did not start; see $RESULTS/gunicorn.log" >&2
  exit 1
}

run_load() {  # run_load NAME THINK
  local name="$1"
  local user_classes="Doctor"
  [ "$SCREENERS" -gt 0 ] && user_classes="Doctor Screener"
  rm -f "$RESULTS/$name.txt"  # a run that fails must not show the last run's table
  LOADTEST_PASSWORD="$PASSWORD" LOADTEST_DOCTORS="$DOCTORS" LOADTEST_THINK="$2" \
  LOADTEST_SCREENERS="$SCREENERS" \
  LOADTEST_DURATION="$DURATION" LOADTEST_MAX_REQUESTS="$MAX_REQUESTS" \
  LOADTEST_REPORT="$RESULTS/$name.txt" \
    "$VENV/bin/locust" -f bench/locustfile.py --headless -u "$USERS" -r "$USERS" \
      --run-time "$((DURATION + 180))s" --host "http://127.0.0.1:$WEB_PORT" \
      --csv "$RESULTS/$name" --only-summary $user_classes >"$RESULTS/$name-locust.log" 2>&1 || true
  echo
  if ! cat "$RESULTS/$name.txt" 2>/dev/null; then
    echo "No result; see $RESULTS/$name-locust.log"
    tail -n 20 "$RESULTS/$name-locust.log"
  fi
}

# Settings as deployed, less TLS: DEBUG off, CELINSIGHT_PRODUCTION off (it needs HTTPS).
export CELINSIGHT_DEBUG=0 CELINSIGHT_PRODUCTION=0 CELINSIGHT_VAR_DIR="$WORK/var"
export OMP_NUM_THREADS=1
start_postgres
prepare_data
if [ "$EXPLAIN_ONLY" = 1 ]; then
  "$PYTHON" bench/explain_pages.py
  exit 0
fi
start_gunicorn
echo "PostgreSQL :$PG_PORT, gunicorn :$WEB_PORT ($WORKERS $WORKER_CLASS workers x $THREADS threads);" \
     "$SIZE; $USERS users, $DURATION s per run"
run_load think "$THINK"
[ "$CLOSED_LOOP" = 1 ] && run_load closed-loop 0
echo
echo "Raw locust CSV and logs: $RESULTS"

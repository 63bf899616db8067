#!/usr/bin/env bash
# Makes the PostgreSQL the tests use answer at 127.0.0.1:5432: trust auth,
# a `test` database. When nothing answers there, installs PostgreSQL from
# Debian's packages (if it is not installed), creates or reuses a cluster,
# allows trust auth from loopback and starts it. Run as root (CI does);
# safe to run again.
#
#   deploy/postgres/provision.sh
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
as_postgres() { su postgres -s /bin/sh -c "$*"; }

if ! ready; then
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        echo "provision: installing PostgreSQL from Debian's packages" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >&2
        apt-get install -y -q postgresql >&2
    fi
    version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
        pg_createcluster "$version" main -p 5432 >&2
    fi
    conf="/etc/postgresql/$version/main"
    cat > "$conf/pg_hba.conf" <<'HBA'
# Written by deploy/postgres/provision.sh: a test server on loopback only.
local   all all              trust
host    all all 127.0.0.1/32 trust
host    all all ::1/128      trust
HBA
    cat > "$conf/conf.d/food-tests.conf" <<'CONF'
# Written by deploy/postgres/provision.sh.
listen_addresses = '127.0.0.1'
port = 5432
# Parallel tests each open a few pools.
max_connections = 300
CONF
    # Start (or restart, to read the settings above).
    pg_ctlcluster "$version" main restart >&2 || pg_ctlcluster "$version" main start >&2
    for _ in $(seq 1 60); do
        ready && break
        sleep 0.5
    done
    ready || { echo "provision: PostgreSQL did not answer at 127.0.0.1:5432" >&2; exit 1; }
fi

if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE test" >&2
fi
echo "provision: PostgreSQL ready at 127.0.0.1:5432 (database test)" >&2

#!/bin/sh
# Container entrypoint.
#
#   serve (the default): if the data dir holds no node yet and LIAISON_INIT_NODE_ID is set, create
#       the node with `liaison node init`, then replace this shell with `liaison serve`.
#   anything else: run it as given (after reading the *_FILE secrets), e.g. `liaison node fingerprint`.
#
# Variables read here (besides the LIAISON_* settings, which the node reads itself):
#   LIAISON_INIT_NODE_ID        node id for the first start (e.g. IQ); ignored once a node exists
#   LIAISON_INIT_DISPLAY_NAME   display name for the first start (e.g. Baghdad), optional
#   LIAISON_PASSPHRASE[_FILE]   passphrase of the key file (see secrets.sh)
set -eu
. /opt/liaison/lib/secrets.sh
liaison_load_secrets

DATA_DIR="${LIAISON_DATA_DIR:-/var/lib/liaison}"

die() {
    echo "liaison-entrypoint: $*" >&2
    exit 1
}

# Refuse to create a new identity against a database that already belongs to a node: an empty data
# dir next to a used database means the volume was lost or not mounted (a renamed Compose project
# gets new volumes), and the way back is restoring the data dir, not a new key.
database_is_unused() {
    [ -n "${LIAISON_DATABASE_URL:-}" ] || return 0  # SQLite lives in the data dir: empty with it
    /opt/venv/bin/python - <<'PY'
import os
import sys

from sqlalchemy import create_engine, inspect

engine = create_engine(os.environ["LIAISON_DATABASE_URL"], pool_pre_ping=True)
try:
    with engine.connect() as conn:
        used = "alembic_version" in inspect(conn).get_table_names()
finally:
    engine.dispose()
sys.exit(3 if used else 0)
PY
}

init_node() {
    [ -n "${LIAISON_PUBLIC_URL:-}" ] \
        || die "set LIAISON_PUBLIC_URL (the URL partners use to reach this node) for the first start"
    [ -n "${LIAISON_PASSPHRASE:-}" ] \
        || die "set LIAISON_PASSPHRASE_FILE (a Docker secret) or LIAISON_PASSPHRASE for the first start"
    set +e
    database_is_unused
    status=$?
    set -e
    case $status in
        0) ;;
        3) die "the database at LIAISON_DATABASE_URL already holds a liaison node but $DATA_DIR is" \
               "empty: restore the data dir (identity.key, node.toml) from backup, or point" \
               "LIAISON_DATABASE_URL at an empty database to create a new node" ;;
        *) die "cannot check the database at LIAISON_DATABASE_URL (see the error above)" ;;
    esac
    set -- node init --name "$LIAISON_INIT_NODE_ID" --data-dir "$DATA_DIR" \
        --public-url "$LIAISON_PUBLIC_URL" --port "${LIAISON_LISTEN_PORT:-8600}"
    if [ -n "${LIAISON_INIT_DISPLAY_NAME:-}" ]; then
        set -- "$@" --display-name "$LIAISON_INIT_DISPLAY_NAME"
    fi
    # No --database-url: LIAISON_DATABASE_URL comes from the environment on every start, and a URL
    # written into node.toml would put any password it carries on the data volume.
    echo "liaison-entrypoint: creating node $LIAISON_INIT_NODE_ID in $DATA_DIR" >&2
    liaison "$@"
}

if [ "$#" -eq 0 ] || [ "$1" = serve ]; then
    [ "$#" -eq 0 ] || shift
    if [ -e "$DATA_DIR/identity.key" ] && [ -e "$DATA_DIR/node.toml" ]; then
        :
    elif [ -e "$DATA_DIR/identity.key" ] || [ -e "$DATA_DIR/node.toml" ]; then
        die "$DATA_DIR holds only one of identity.key and node.toml: an interrupted" \
            "'liaison node init' or a damaged volume; restore it from backup, or empty it to start over"
    elif [ -n "${LIAISON_INIT_NODE_ID:-}" ]; then
        init_node
    else
        die "$DATA_DIR holds no node: set LIAISON_INIT_NODE_ID and LIAISON_PUBLIC_URL to create one" \
            "on the first start, or run 'liaison node init' yourself"
    fi
    exec liaison serve --data-dir "$DATA_DIR" "$@"
fi

exec "$@"

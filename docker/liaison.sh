#!/bin/sh
# The `liaison` command inside the image: reads the *_FILE secrets (see secrets.sh), then runs the
# real console script. It is first on PATH so that `docker compose exec NODE liaison ...` finds the
# passphrase and the database password without the operator handling them.
set -eu
. /opt/liaison/lib/secrets.sh
liaison_load_secrets
exec /opt/venv/bin/liaison "$@"

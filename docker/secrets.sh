# Sourced by the container's scripts: Docker secrets for the variables that hold secrets.
#
# For each variable NAME below, NAME_FILE may name a file (a Docker or Compose secret, usually
# under /run/secrets/) whose content becomes NAME. Trailing newlines are dropped; nothing else is.
# Setting both NAME and NAME_FILE is refused, so that it is never unclear which one was used.
#
#   LIAISON_PASSPHRASE    unlocks the node's key file (identity.key)
#   LIAISON_PASSWORD      password for `liaison user add` (one-off; prefer --password-stdin)
#   LIAISON_DATABASE_URL  the whole database URL, if it must carry a password
#   PGPASSWORD            the PostgreSQL password, read by libpq when the URL carries none

liaison_load_secrets() {
    for _name in LIAISON_PASSPHRASE LIAISON_PASSWORD LIAISON_DATABASE_URL PGPASSWORD; do
        eval "_file=\${${_name}_FILE:-}"
        [ -n "$_file" ] || continue
        if eval "[ -n \"\${${_name}+set}\" ]"; then
            echo "liaison: both ${_name} and ${_name}_FILE are set; set only one" >&2
            exit 64
        fi
        if [ ! -f "$_file" ] || [ ! -r "$_file" ]; then
            echo "liaison: ${_name}_FILE=${_file} is not a file that uid $(id -u) can read" \
                "(chown it to $(id -u) on the host, mode 0400)" >&2
            exit 66
        fi
        _value=$(cat -- "$_file")
        if [ -z "$_value" ]; then
            echo "liaison: ${_name}_FILE=${_file} is empty" >&2
            exit 65
        fi
        export "${_name}=${_value}"
        unset "${_name}_FILE"
    done
    unset _name _file _value
}

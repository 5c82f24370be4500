"""Where ``liaison login`` keeps the bearer token between commands.

One file per node and user account: ``$LIAISON_TOKEN_FILE`` if set, else
``$XDG_CONFIG_HOME/liaison/token-<host>-<port>`` (``~/.config`` without XDG), with a short hash of
the URL appended when the node URL has a path. The file is JSON (``url``, ``token``, ``username``,
``role``, ``expires_at``), created with mode 0600 through a temporary file and an atomic rename, in
a directory created 0700. A token file that group or others can access is refused, as OpenSSH
refuses an unprotected key. ``LIAISON_TOKEN`` overrides the file (for scripts).

A token stored for another URL, or past its expiry, counts as no token: the command then fails
with "not logged in" before it sends anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

from clients.errors import NotLoggedIn

TOKEN_ENV = "LIAISON_TOKEN"  # noqa: S105 - the variable's name, not a token
TOKEN_FILE_ENV = "LIAISON_TOKEN_FILE"  # noqa: S105
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "liaison"


def token_path(url: str) -> Path:
    """The token file for the node at ``url`` (an already checked base URL)."""
    override = os.environ.get(TOKEN_FILE_ENV)
    if override:
        return Path(override)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    name = f"token-{_UNSAFE.sub('_', parts.hostname or 'node')}-{port}"
    if parts.path.strip("/"):
        name += "-" + hashlib.sha256(url.encode()).hexdigest()[:8]
    return config_dir() / name


def save_token(url: str, token: str, *, username: str, role: str, expires_in: int) -> Path:
    """Write the token for ``url`` with mode 0600 and return the file's path.

    Raises:
        OSError: the file cannot be written.
    """
    path = token_path(url)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    record = {
        "url": url,
        "token": token,
        "username": username,
        "role": role,
        "expires_at": int(time.time()) + int(expires_in),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)  # the umask may only remove bits, but be explicit
            json.dump(record, fh)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_token(url: str) -> str | None:
    """The token to use for ``url``: ``$LIAISON_TOKEN``, else a current one from the token file.

    Raises:
        NotLoggedIn: the token file is accessible by group or others.
        OSError: the file exists but cannot be read.
    """
    override = os.environ.get(TOKEN_ENV)
    if override:
        return override.strip()
    path = token_path(url)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise NotLoggedIn(f"token file {path} is accessible by others; delete it")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None  # damaged: as if absent, the next login rewrites it
    if not isinstance(record, dict) or record.get("url") != url:
        return None
    token, expires_at = record.get("token"), record.get("expires_at")
    if not isinstance(token, str) or not isinstance(expires_at, int) or expires_at <= time.time():
        return None
    return token


def delete_token(url: str) -> bool:
    """Remove the token file for ``url``; returns whether there was one."""
    try:
        token_path(url).unlink()
    except FileNotFoundError:
        return False
    return True

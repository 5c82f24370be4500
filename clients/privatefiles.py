"""Files the CLI writes for its user alone: courier files, audit proofs and exports.

They can hold what the audit log holds (who did what, when) or envelopes for a partner, so they
are created mode 0600 in directories of mode 0700, never readable by others even for a moment.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, through a temporary file and a rename.

    Raises:
        OSError: the file cannot be written.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def private_dir(path: Path) -> Path:
    """Create ``path`` with mode 0700, or take it over if it exists and is empty.

    Raises:
        FileExistsError: ``path`` exists and is not an empty directory (nothing is overwritten).
        OSError: it cannot be created.
    """
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        if not path.is_dir() or any(path.iterdir()):
            raise FileExistsError(
                17, "exists and is not an empty directory; nothing was written", str(path)
            ) from None
    path.chmod(0o700)  # mkdir's mode is filtered by the umask
    return path


def create_private(path: Path) -> int:
    """Open a new file at ``path`` for writing, mode 0600; refuses to replace one.

    Raises:
        FileExistsError: the file exists.
        OSError: it cannot be created.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    return fd

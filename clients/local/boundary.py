"""Where the server side meets the client: its errors translated, a data dir opened as a node.

Everything here imports ``service``, ``crypto``, ``policies``, pydantic and SQLAlchemy inside its
functions (see :mod:`clients.local`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clients.errors import ConnectionFailed, LiaisonError

if TYPE_CHECKING:
    from policies import PolicyInvalid
    from service.node import Node
    from service.settings import Settings


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Turn the server side's errors into client errors with a one-line reason."""
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from crypto.errors import CryptoError
    from policies import PolicyError, PolicyInvalid
    from service.errors import ServiceError

    try:
        yield
    except ServiceError as exc:
        raise LiaisonError(exc.detail, errors=exc.errors) from exc
    except PolicyInvalid as exc:
        raise _policy_invalid(exc) from exc
    except PolicyError as exc:
        raise LiaisonError(exc.diagnostics()) from exc
    except CryptoError as exc:
        raise LiaisonError(exc.message) from exc
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        ]
        raise LiaisonError("invalid settings: " + "; ".join(problems)) from exc
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise ConnectionFailed(f"cannot use the database: {reason}") from exc
    except SQLAlchemyError as exc:
        raise LiaisonError(f"database error: {exc.__class__.__name__}") from exc


def _policy_invalid(exc: PolicyInvalid) -> LiaisonError:
    """``liaison: invalid sharing policy: FILE:LINE:COL: KEY: MESSAGE``, one line per further
    problem."""
    return LiaisonError(
        f"invalid sharing policy: {exc}", errors=[str(problem) for problem in exc.problems[1:]]
    )


def node_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The settings of the node in ``data_dir``: ``overrides`` over ``LIAISON_*`` over its
    ``node.toml``. Call it inside :func:`translated`.

    Raises:
        LiaisonError: ``data_dir`` holds no node.
        pydantic.ValidationError: the settings are invalid.
    """
    from service.settings import CONFIG_FILE, load_settings

    if not (data_dir / CONFIG_FILE).is_file():
        raise LiaisonError(f"{data_dir} holds no liaison node (no {CONFIG_FILE}): run node init")
    return load_settings(data_dir, **overrides)


def cheap_cost(memory_kib: int | None) -> dict[str, int] | None:
    """The cheap Argon2id cost that tests ask for (``--kdf-memory-kib``); None in production."""
    if memory_kib is None:
        return None
    return {"memory_kib": memory_kib, "iterations": 1, "lanes": 1}


@contextlib.contextmanager
def opened_node(
    data_dir: Path, passphrase: str, *, kdf_memory_kib: int | None = None
) -> Iterator[Node]:
    """The node in ``data_dir``, opened with its key file and disposed of on exit; users it
    creates get the cheap test password cost if ``kdf_memory_kib`` is given. Call it inside
    :func:`translated`.
    """
    from service.auth import PasswordPolicy
    from service.bootstrap import open_node

    cost = cheap_cost(kdf_memory_kib)
    policy = PasswordPolicy(**cost) if cost else None
    node = open_node(node_settings(data_dir), passphrase, password_policy=policy)
    try:
        yield node
    finally:
        node.db.dispose()

"""``user add`` and ``partner add`` on a data dir, written from the node's console (audited as
``system/console``) rather than over HTTP by a logged-in admin: the first administrator has
nobody to log in as.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from clients.errors import ConnectionFailed
from clients.local.boundary import opened_node, translated
from clients.sdk import check_url

FETCH_TIMEOUT = 30.0


def add_user(
    data_dir: Path,
    *,
    username: str,
    role: str,
    password: str,
    passphrase: str,
    kdf_memory_kib: int | None = None,
    clearance: str | None = None,
) -> dict[str, Any]:
    """Create a user from the console (audited as ``system/console``); returns it as the API would.
    Officers and releasers read up to ``clearance`` (a TLP level; the node's default if None).

    Raises:
        LiaisonError: invalid name, role, clearance or weak password, a taken name, or the node
            won't open.
    """
    from sqlalchemy import select

    from service.api.schemas import UserOut
    from service.bootstrap import add_local_user
    from service.models import User

    with translated(), opened_node(data_dir, passphrase, kdf_memory_kib=kdf_memory_kib) as node:
        add_local_user(node, username=username, role=role, password=password, clearance=clearance)
        with node.db.read() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            return UserOut.of(user).model_dump(mode="json")


def fetch_key_document(url: str, *, transport: httpx.BaseTransport | None = None) -> bytes:
    """GET the partner's key document, refusing anything over the service's size limit.

    Raises:
        ConnectionFailed: no answer, a non-200 answer, or an oversize document.
        UsageError: ``url`` is not an http(s) URL.
    """
    from service.federation.wire import KEY_DOCUMENT_PATH, MAX_KEY_DOCUMENT_BYTES

    target = check_url(url) + KEY_DOCUMENT_PATH
    try:
        with (
            httpx.Client(transport=transport, timeout=FETCH_TIMEOUT) as client,
            client.stream("GET", target, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise ConnectionFailed(f"{target} answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_KEY_DOCUMENT_BYTES:
                    raise ConnectionFailed(f"{target} sent an oversize key document")
    except httpx.HTTPError as exc:
        reason = str(exc) or exc.__class__.__name__
        raise ConnectionFailed(f"cannot fetch {target}: {reason}") from exc
    return bytes(body)


def add_partner(
    data_dir: Path,
    *,
    node_id: str,
    url: str,
    fingerprint: str,
    name: str = "",
    passphrase: str,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Fetch ``url``'s key document and pin it if it matches ``fingerprint``.

    Raises:
        LiaisonError: a fingerprint mismatch (nothing is pinned), an invalid document, a partner
            already pinned.
        ConnectionFailed: the partner cannot be reached.
    """
    from service.api.schemas import PartnerOut
    from service.audit import Actor
    from service.identity import add_partner as pin

    document = fetch_key_document(url, transport=transport)
    with translated(), opened_node(data_dir, passphrase) as node, node.db.write() as session:
        partner = pin(
            session,
            node,
            node_id=node_id,
            url=url,
            fingerprint=fingerprint,
            document=document,
            name=name,
            actor=Actor.system("console"),
        )
        return PartnerOut.of(partner).model_dump(mode="json")

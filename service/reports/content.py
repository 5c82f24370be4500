"""Report content at rest: what is sealed with the node data key, under which context, and how
it is opened again.

Every value taken from inside a report is sealed (``service.atrest``) under a context naming its
table, column and row, so a ciphertext moved to another row fails to open: the submitted bundle
(``reports.body_ct``), the bundle released to a partner when a policy redacted it
(``deliveries.body_ct``), the signed message received (``inbound.signed_ct``) and the titles
shown in listings (``title_ct``).
"""

from __future__ import annotations

from typing import Any

from crypto.canonical import parse_strict
from crypto.envelope import parse_header, verify_signed_message
from crypto.signing import VerifyKey
from service.atrest import SealedColumn
from service.errors import Unprocessable
from service.keyring import signed_by
from service.models import Delivery, Inbound, Report
from service.node import Node

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
_TITLE_TYPES = ("report", "intrusion-set", "campaign", "threat-actor", "incident", "malware")


def body_context(report_id: str) -> str:
    return f"reports.body_ct/{report_id}"


def delivery_body_context(message_id: str) -> str:
    return f"deliveries.body_ct/{message_id}"


def signed_context(inbound_id: str) -> str:
    return f"inbound.signed_ct/{inbound_id}"


SEALED_COLUMNS = (
    SealedColumn(Report, "title_ct", lambda row: f"reports.title_ct/{row.id}"),
    SealedColumn(Report, "body_ct", lambda row: body_context(row.id)),
    SealedColumn(Delivery, "body_ct", lambda row: delivery_body_context(row.message_id),
                 ("message_id",)),
    SealedColumn(Inbound, "title_ct", lambda row: f"inbound.title_ct/{row.id}"),
    SealedColumn(Inbound, "signed_ct", lambda row: signed_context(row.id)),
)  # fmt: skip
"""What this module seals with the data keys (``service.atrest.reseal``)."""


def seal_title(node: Node, table: str, row_id: str, title: str) -> bytes:
    return node.data_key.seal(title.encode("utf-8"), f"{table}.title_ct/{row_id}")


def open_title(node: Node, table: str, row_id: str, sealed: bytes) -> str:
    return node.data_key.open(sealed, f"{table}.title_ct/{row_id}").decode("utf-8")


def title_of(bundle: dict[str, Any]) -> str:
    """A short label for listings: the name of the most telling object in the bundle."""
    objects = bundle.get("objects", [])
    for wanted in _TITLE_TYPES:
        for obj in objects:
            if obj.get("type") == wanted and isinstance(obj.get("name"), str):
                return str(obj["name"])[:300]
    return str(bundle.get("id", ""))[:300]


def own_body(node: Node, report: Report) -> bytes:
    """The submitted bundle's canonical bytes.

    Raises:
        AtRestCorrupted: the stored ciphertext was altered or moved.
    """
    return node.data_key.open(report.body_ct, body_context(report.id))


def own_bundle(node: Node, report: Report) -> dict[str, Any]:
    """The submitted bundle (see :func:`own_body`)."""
    bundle: dict[str, Any] = parse_strict(own_body(node, report))
    return bundle


def released_body(node: Node, delivery: Delivery, report_body: bytes) -> bytes:
    """The bytes the partner receives: the redacted bundle if the policy changed it, else the
    report as submitted (``report_body``)."""
    if delivery.body_ct is None:
        return report_body
    return node.data_key.open(delivery.body_ct, delivery_body_context(delivery.message_id))


def sender_key(row: Inbound) -> VerifyKey:
    """The partner's key that signed a stored report: the one pinned now, or the one pinned
    when it arrived if the partner was re-pinned since (``service.keyring.signed_by``).

    Raises:
        CryptoError: the stored envelope is damaged, or names a key never pinned.
    """
    header, _ = parse_header(row.envelope, max_bytes=len(row.envelope))
    return signed_by(row.partner, header.sender_key)


def received_bundle(node: Node, row: Inbound) -> dict[str, Any]:
    """Decrypt a received report's stored signed message, re-verify the partner's signatures
    under the keys it was pinned to then, and return the bundle.

    Raises:
        AtRestCorrupted: the stored ciphertext was altered or moved.
        Unprocessable: the signature no longer verifies under the pinned keys (tampering).
    """
    signed = node.data_key.open(row.signed_ct, signed_context(row.id))
    try:
        _, body = verify_signed_message(signed, sender_key(row))
    except Exception as exc:
        raise Unprocessable(
            f"stored report {row.id} no longer verifies: {exc}", code="stored_report_invalid"
        ) from exc
    parsed: dict[str, Any] = parse_strict(body)
    return parsed

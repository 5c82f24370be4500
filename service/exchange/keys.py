"""Fetching a partner's key document: when its pinned encryption keys have expired (before a
seal, ``push``), and every ``key_refresh_seconds`` (``pull``), so that a key the partner rotated
while running is used without a phone call. The document must verify under the pinned identity
and may never go back to an older serial (``identity.update_key_document``, K3-K6)."""

from __future__ import annotations

from service.federation import PartnerClient
from service.identity import update_key_document
from service.models import Partner
from service.node import Node


async def refresh_key_document(
    node: Node, client: PartnerClient, partner_id: int, endpoint: str
) -> bool:
    """Fetch a partner's key document (no transaction open), then store it if newer; True if
    it was.

    Raises:
        PartnerUnreachable: it could not be fetched.
        Unprocessable: it is not signed by the pinned keys, or is older (rollback).
    """
    document = await client.fetch_key_document(endpoint)
    with node.db.write() as session:
        partner = session.get(Partner, partner_id, with_for_update=True)
        if partner is None:
            return False
        return update_key_document(session, node, partner, document)


def refresh_due(node: Node, partner_id: int) -> str | None:
    """The partner's endpoint if its key document was last fetched ``key_refresh_seconds`` ago
    or more, else None."""
    with node.db.read() as session:
        partner = session.get(Partner, partner_id)
        if partner is None:
            return None
        age = (node.utcnow() - partner.keys_fetched_at).total_seconds()
        return partner.endpoint if age >= node.settings.key_refresh_seconds else None

"""The signed transport between partner nodes (docs/protocol.md sections 2-9).

    server   authenticates a partner's request (F1), runs its work, signs the answer
    client   PartnerClient: signs our requests to a partner and verifies its answers
    wire     paths, media types and limits of the federation API

What travels over it (envelopes, pulls, receipts, checkpoints) is ``service.exchange``'s.
"""

from service.federation import wire
from service.federation.client import PartnerAnswer, PartnerClient, PartnerContact, problem_reason
from service.federation.server import SignedAnswer, authenticate_partner, handle_signed, refused

__all__ = [
    "PartnerAnswer",
    "PartnerClient",
    "PartnerContact",
    "SignedAnswer",
    "authenticate_partner",
    "handle_signed",
    "problem_reason",
    "refused",
    "wire",
]

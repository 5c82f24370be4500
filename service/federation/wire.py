"""The federation API's paths, media types and size limits (docs/protocol.md sections 2-9)."""

from __future__ import annotations

PREFIX = "/federation/v1"
KEY_DOCUMENT_PATH = PREFIX + "/key-document"
ENVELOPES_PATH = PREFIX + "/envelopes"
ENVELOPE_BATCH_PATH = PREFIX + "/envelopes/batch"
PULL_PATH = PREFIX + "/pull"
RECEIPTS_PATH = PREFIX + "/receipts"
CHECKPOINT_PATH = PREFIX + "/audit/checkpoint"
COSIGNATURE_PATH = PREFIX + "/audit/cosignature"
RECONCILE_PATH = PREFIX + "/audit/reconcile"

ENVELOPE_MEDIA_TYPE = "application/vnd.liaison.envelope"
JSON = "application/json"
RECEIPT_MEDIA_TYPE = JSON

MAX_KEY_DOCUMENT_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 64 * 1024 * 1024
"""The largest signed answer a node reads from a partner (a pull page, a reconcile list)."""
MAX_PULL_LIMIT = 200
DEFAULT_PULL_LIMIT = 100
MAX_RECEIPTS = 1000
MAX_BATCH = 100
"""Envelopes in one batch push (docs/protocol.md section 6)."""
BATCH_BYTES = 1024 * 1024
"""A sender packs a batch's envelopes up to this much base64url text; a larger one goes alone."""
MAX_BATCH_BYTES = 2 * BATCH_BYTES
"""The largest batch request body a receiver reads."""
MAX_PROOF = 130
"""Hashes in a consistency proof: at most 2 * log2(2**64) + a few."""

"""Bodies of the node's own endpoints."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    status: str
    node_id: str


class NodeInfo(BaseModel):
    node_id: str
    name: str
    fingerprint: str
    signing_key_id: str
    public_url: str

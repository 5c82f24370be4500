"""The node's own endpoints: health and what it says about itself."""

from __future__ import annotations

from fastapi import APIRouter

from crypto.fingerprint import fingerprint
from service.api.deps import NodeDep
from service.api.schemas import Health, NodeInfo

router = APIRouter(tags=["node"])


@router.get("/healthz", response_model=Health)
def healthz(node: NodeDep) -> Health:
    return Health(status="ok", node_id=node.node_id)


@router.get("/api/v1/node", response_model=NodeInfo)
def node_info(node: NodeDep) -> NodeInfo:
    """The node's id, name, public URL and the fingerprint its partners pin."""
    public = node.identity.signing.public
    return NodeInfo(
        node_id=node.node_id,
        name=node.settings.node_name,
        fingerprint=fingerprint(public),
        signing_key_id=public.key_id,
        public_url=node.settings.public_url,
    )

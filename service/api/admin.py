"""Administrator endpoints: users and partners."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from service import partners, syncstatus, users
from service.api.schemas import PartnerCreate, PartnerOut, UserCreate, UserOut
from service.deps import Admin, NodeDep, RemoteAddr

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/users", response_model=list[UserOut])
def list_users(node: NodeDep, admin: Admin) -> list[UserOut]:
    with node.db.transaction() as session:
        return [UserOut.of(u) for u in users.list_users(session)]


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserCreate, node: NodeDep, admin: Admin, addr: RemoteAddr) -> UserOut:
    with node.db.transaction() as session:
        user = users.create_user(
            session,
            node,
            username=body.username,
            role=body.role,
            password=body.password,
            actor=admin.actor(addr),
            clearance=body.clearance,
        )
        return UserOut.of(user)


@router.get("/partners", response_model=list[PartnerOut])
def list_partners(node: NodeDep, admin: Admin) -> list[PartnerOut]:
    with node.db.transaction() as session:
        return [PartnerOut.of(p) for p in partners.list_partners(session)]


@router.get("/partners/{node_id}/status", response_model=syncstatus.PartnerStatus)
def partner_status(node_id: str, node: NodeDep, admin: Admin) -> syncstatus.PartnerStatus:
    """Backlog, oldest undelivered report, last success and last error towards the partner, and
    what has arrived from it (cursor, gaps, last pull)."""
    with node.db.transaction() as session:
        status = syncstatus.partner_status(session, partners.get_partner(session, node_id))
    return status


@router.post("/partners", response_model=PartnerOut, status_code=201)
async def add_partner(
    body: PartnerCreate, node: NodeDep, admin: Admin, addr: RemoteAddr
) -> PartnerOut:
    """Fetch the partner's key document from ``url`` and pin it if ``fingerprint`` matches."""
    assert node.http_client is not None
    async with node.http_client() as client:
        document = await partners.fetch_key_document(client, body.url)

    def work() -> PartnerOut:
        with node.db.transaction() as session:
            partner = partners.add_partner(
                session,
                node,
                node_id=body.node_id,
                url=body.url,
                fingerprint=body.fingerprint,
                document=document,
                name=body.name,
                actor=admin.actor(addr),
            )
            return PartnerOut.of(partner)

    return await run_in_threadpool(work)

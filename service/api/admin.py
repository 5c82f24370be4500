"""Administrator endpoints: users, partners and integration credentials (TAXII)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from service import exchange, identity
from service.api.deps import Admin, NodeDep, ReadSession, RemoteAddr, WriteSession
from service.api.schemas import (
    ClearanceSet,
    DamageOut,
    DataKeysOut,
    IntegrationCreate,
    IntegrationOut,
    PartnerCreate,
    PartnerOut,
    PartnerRepin,
    PartnerSuspend,
    PasswordSet,
    ReloadedOut,
    RemovalOut,
    RepinOut,
    RoleSet,
    SuspensionOut,
    UserCreate,
    UserOut,
)
from service.federation import PartnerClient

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/users", response_model=list[UserOut])
def list_users(session: ReadSession, admin: Admin) -> list[UserOut]:
    return [UserOut.of(u) for u in identity.list_users(session)]


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(
    body: UserCreate, node: NodeDep, session: WriteSession, admin: Admin, addr: RemoteAddr
) -> UserOut:
    user = identity.create_user(
        session,
        node,
        username=body.username,
        role=body.role,
        password=body.password,
        actor=admin.actor(addr),
        clearance=body.clearance,
    )
    return UserOut.of(user)


@router.post("/users/{username}/disable", response_model=UserOut)
def disable_user(
    username: str, node: NodeDep, session: WriteSession, admin: Admin, addr: RemoteAddr
) -> UserOut:
    """Disable an account: it cannot log in, and its tokens and console sessions end now."""
    return UserOut.of(identity.disable_user(session, node, username, admin.actor(addr)))


@router.post("/users/{username}/enable", response_model=UserOut)
def enable_user(
    username: str, node: NodeDep, session: WriteSession, admin: Admin, addr: RemoteAddr
) -> UserOut:
    return UserOut.of(identity.enable_user(session, node, username, admin.actor(addr)))


@router.post("/users/{username}/password", response_model=UserOut)
def set_password(
    username: str, body: PasswordSet, node: NodeDep, session: WriteSession, admin: Admin,
    addr: RemoteAddr,
) -> UserOut:  # fmt: skip
    """Set a new password; the account's tokens and console sessions end now."""
    user = identity.set_password(session, node, username, body.password, admin.actor(addr))
    return UserOut.of(user)


@router.post("/users/{username}/role", response_model=UserOut)
def set_role(
    username: str, body: RoleSet, node: NodeDep, session: WriteSession, admin: Admin,
    addr: RemoteAddr,
) -> UserOut:  # fmt: skip
    """Change the role; the account's tokens and console sessions end now."""
    return UserOut.of(identity.set_role(session, node, username, body.role, admin.actor(addr)))


@router.post("/users/{username}/clearance", response_model=UserOut)
def set_clearance(
    username: str, body: ClearanceSet, node: NodeDep, session: WriteSession, admin: Admin,
    addr: RemoteAddr,
) -> UserOut:  # fmt: skip
    """Change the highest TLP an officer or releaser reads (applies at the next request)."""
    user = identity.set_clearance(session, node, username, body.clearance, admin.actor(addr))
    return UserOut.of(user)


@router.post("/node/reload-keys", response_model=ReloadedOut)
def reload_keys(
    node: NodeDep, session: WriteSession, admin: Admin, addr: RemoteAddr
) -> ReloadedOut:
    """Read the key file again after ``liaison node rotate-keys`` (or ``rotate-token-key``,
    ``rotate-data-key``, ``retire-data-keys``) and serve its keys now (this process only: tell
    each replica)."""
    reloaded = identity.reload_keys(session, node, admin.actor(addr))
    return ReloadedOut(serial=reloaded.serial, encryption_keys=reloaded.encryption_keys,
                       data_keys=reloaded.data_keys)  # fmt: skip


@router.get("/node/data-keys", response_model=DataKeysOut)
def data_keys(node: NodeDep, session: ReadSession, admin: Admin) -> DataKeysOut:
    """Which data keys seal what, and how far the re-seal after a rotation has gone."""
    status = identity.data_key_status(session, node)
    return DataKeysOut(current=status.current, held=status.held, in_use=status.in_use,
                       resealed=status.resealed, reseal_done=status.reseal_done)  # fmt: skip


@router.get("/partners", response_model=list[PartnerOut])
def list_partners(session: ReadSession, admin: Admin) -> list[PartnerOut]:
    return [PartnerOut.of(p) for p in identity.list_partners(session)]


@router.get("/partners/{node_id}/status", response_model=exchange.PartnerStatus)
def partner_status(node_id: str, session: ReadSession, admin: Admin) -> exchange.PartnerStatus:
    """Backlog, oldest undelivered report, last success and last error towards the partner, and
    what has arrived from it (cursor, gaps, last pull)."""
    return exchange.partner_status(session, identity.get_partner(session, node_id))


@router.post("/partners/{node_id}/suspend", response_model=SuspensionOut)
def suspend_partner(
    node_id: str, body: PartnerSuspend, node: NodeDep, session: WriteSession, admin: Admin,
    addr: RemoteAddr,
) -> SuspensionOut:  # fmt: skip
    """Suspend a partner whose keys may be in other hands: nothing is sealed or sent to it,
    nothing it signs is accepted, and what it signed from ``compromised_since`` on goes back to
    quarantine."""
    return SuspensionOut.of(exchange.suspend_partner(
        session, node, node_id, actor=admin.actor(addr),
        compromised_since=body.compromised_since, reason=body.reason,
    ))  # fmt: skip


@router.get("/partners/{node_id}/damage", response_model=DamageOut)
def partner_damage(
    node_id: str, since: datetime, node: NodeDep, session: ReadSession, admin: Admin,
    addr: RemoteAddr,
) -> DamageOut:  # fmt: skip
    """What the partner's keys, copied at ``since``, could expose (envelopes sealed to them) or
    forge (reports received since), by TLP: metadata only."""
    return DamageOut.of(exchange.damage_report(session, node, node_id, since, admin.actor(addr)))


@router.post("/partners/{node_id}/resume", response_model=SuspensionOut)
def resume_partner(
    node_id: str, node: NodeDep, session: WriteSession, admin: Admin, addr: RemoteAddr
) -> SuspensionOut:
    """End a suspension: the held deliveries go out."""
    resumed = exchange.resume_partner(session, node, node_id, actor=admin.actor(addr))
    return SuspensionOut.of(resumed)


@router.post("/partners/{node_id}/repin", response_model=RepinOut)
async def repin_partner(
    node_id: str, body: PartnerRepin, node: NodeDep, session: WriteSession, admin: Admin,
    addr: RemoteAddr,
) -> RepinOut:  # fmt: skip
    """Pin the partner's new signing identity: its key document is fetched from ``url`` and
    pinned if ``fingerprint`` matches; what its old keys signed since a recorded compromise is
    distrusted (the write transaction begins only once the document is here)."""
    async with PartnerClient.open(node) as client:
        document = await client.fetch_key_document(body.url)

    def work() -> RepinOut:
        return RepinOut.of(exchange.repin_partner(
            session, node, node_id, url=body.url, fingerprint=body.fingerprint,
            document=document, actor=admin.actor(addr),
        ))  # fmt: skip

    return await run_in_threadpool(work)


@router.post("/partners/{node_id}/remove", response_model=RemovalOut)
def remove_partner(
    node_id: str, node: NodeDep, session: WriteSession, admin: Admin, addr: RemoteAddr
) -> RemovalOut:
    """End the partnership: suspended for good, undelivered reports withdrawn, records kept."""
    removal = exchange.remove_partner(session, node, node_id, actor=admin.actor(addr))
    return RemovalOut(partner=PartnerOut.of(removal.partner), withdrawn=removal.withdrawn)


@router.post("/partners", response_model=PartnerOut, status_code=201)
async def add_partner(
    body: PartnerCreate, node: NodeDep, session: WriteSession, admin: Admin, addr: RemoteAddr
) -> PartnerOut:
    """Fetch the partner's key document from ``url`` and pin it if ``fingerprint`` matches
    (the write transaction begins only once the document is here)."""
    async with PartnerClient.open(node) as client:
        document = await client.fetch_key_document(body.url)

    def work() -> PartnerOut:
        partner = identity.add_partner(
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


@router.get("/integrations", response_model=list[IntegrationOut])
def list_integrations(session: ReadSession, admin: Admin) -> list[IntegrationOut]:
    """Every integration credential, revoked ones included (never their secrets)."""
    return [IntegrationOut.of(row) for row in identity.list_integrations(session)]


@router.post("/integrations", response_model=IntegrationOut, status_code=201)
def add_integration(
    body: IntegrationCreate, node: NodeDep, session: WriteSession, admin: Admin, addr: RemoteAddr
) -> IntegrationOut:
    """Create a credential for one of the home network's platforms; the answer holds its
    secret, shown this once."""
    row, secret = identity.create_integration(
        session,
        node,
        name=body.name,
        partners=body.partners,
        read=body.read,
        write=body.write,
        clearance=body.clearance,
        collections=body.collections,
        label=body.label,
        actor=admin.actor(addr),
    )
    return IntegrationOut.of(row, secret)


@router.post("/integrations/{name}/revoke", response_model=IntegrationOut)
def revoke_integration(
    name: str, node: NodeDep, session: WriteSession, admin: Admin, addr: RemoteAddr
) -> IntegrationOut:
    """Revoke a credential: its next request is refused."""
    return IntegrationOut.of(identity.revoke_integration(session, node, name, admin.actor(addr)))

"""The auditor's pages: the log with filters, one record with its inclusion proof (and the proof
file ``liaison audit check-proof`` checks offline), the node's own verification of the whole log,
the checkpoints with the partners' cosignatures, alerts, and reconciling with a partner.

Each route calls the service function its API route in ``service.api.auditor`` calls, with the
same roles (``auditor``; ``auditor`` or ``admin`` for the log's integrity: verification,
checkpoints, alerts), so every reading is recorded as the API's is (``audit.read``,
``audit.proof``, ``audit.verify``, ``audit.reconcile``).

Verifying and reconciling are POST forms (they do work and are recorded) whose answer is shown
at once: the verification is synchronous, so its page gives the figures of the run and how long
it took; nothing is stored to redirect to. The log and the checkpoints page forward with the
API's cursors (``after_seq``, ``after_size``); going back uses the cursors already visited,
carried in the links (``back``).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from crypto.encoding import b64u_encode
from service import audit, exchange, identity
from service.api.deps import NodeDep, ReadSession, RemoteAddr
from service.api.schemas import (
    AlertOut,
    AuditEventOut,
    CheckpointOut,
    ProofOut,
    ReconciliationOut,
    VerificationOut,
)
from service.console.deps import AuditorOrAdminPage, AuditorPage, FormUser, Lang
from service.console.render import page
from service.errors import NotFound

router = APIRouter(prefix="/console")

PAGE = 100
CHECKPOINT_PAGE = 20
ALERT_PAGE = 50
BACK_KEPT = 50
"""Cursors of pages already visited kept in the links, for "previous page"."""
NOT_COVERED = frozenset({"not_checkpointed", "no_checkpoint"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Text = Annotated[str, Query(max_length=200)]
Moment = Annotated[str, Query(max_length=40)]
Back = Annotated[str, Query(max_length=2000)]
OutcomeChoice = Annotated[Literal["", "allowed", "denied", "error"], Query()]
MAX_SEQ = 2**63 - 1
"""The largest position a database integer holds (larger ones are refused as invalid, not sent
to the database)."""
Seq = Annotated[int, Path(ge=0, le=MAX_SEQ)]


def parse_moment(text: str) -> datetime | None:
    """An ISO 8601 time from a filter (``2025-01-31T08:00``, with or without a zone; without
    one it is UTC, as every time the node keeps).

    Raises:
        ValueError: not such a time.
    """
    text = text.strip()
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def cursors(back: str) -> list[int]:
    """The cursors of the pages visited before (``back=-1,99,199``), the invalid ones left out."""
    found = []
    for item in back.split(","):
        try:
            value = int(item)
        except ValueError:
            continue
        if -1 <= value <= MAX_SEQ:
            found.append(value)
    return found[-BACK_KEPT:]


def _url(path: str, values: dict[str, Any]) -> str:
    wanted = {k: v for k, v in values.items() if v not in ("", None)}
    return path + ("?" + urlencode(wanted) if wanted else "")


def _pager(
    path: str, filters: dict[str, Any], name: str, cursor: int, visited: list[int], last: int | None
) -> tuple[str | None, str | None]:
    """The previous and next pages' URLs of a cursor-paged listing (``last``: the cursor after
    this page's last row, None when this page is the last)."""
    previous = None
    if cursor > -1:
        before = visited[-1] if visited else -1
        previous = _url(path, {**filters, name: before, "back": ",".join(map(str, visited[:-1]))})
    following = None
    if last is not None:
        trail = ",".join(map(str, [*visited, cursor][-BACK_KEPT:]))
        following = _url(path, {**filters, name: last, "back": trail})
    return previous, following


# --- the log ------------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: AuditorPage,
    t: Lang,
    addr: RemoteAddr,
    actor: Text = "",
    action: Annotated[str, Query(max_length=48)] = "",
    outcome: OutcomeChoice = "",
    object_id: Text = "",
    since: Moment = "",
    until: Moment = "",
    after_seq: Annotated[int, Query(ge=-1, le=MAX_SEQ)] = -1,
    back: Back = "",
) -> HTMLResponse:
    """Records of the log in log order, filtered as ``GET /api/v1/audit/events`` filters them
    (``action`` exact or a prefix with ``*``), recorded as ``audit.read``."""
    errors: dict[str, str] = {}
    moments: dict[str, datetime | None] = {}
    for name, text in (("since", since), ("until", until)):
        try:
            moments[name] = parse_moment(text)
        except ValueError:
            errors[name] = t("audit.filter.bad_time")
    events: list[AuditEventOut] = []
    if not errors:
        wanted = audit.EventFilter(
            action=action.strip() or None,
            actor=actor.strip() or None,
            object_id=object_id.strip() or None,
            outcome=audit.Outcome(outcome) if outcome else None,
            since=moments["since"],
            until=moments["until"],
            after_seq=after_seq,
            limit=PAGE,
        )
        rows = audit.queries.read_events(session, node, user.principal.actor(addr), wanted)
        events = [AuditEventOut.of(e) for e, _leaf in rows]
    filters = {"actor": actor, "action": action, "outcome": outcome, "object_id": object_id,
               "since": since, "until": until}  # fmt: skip
    last = events[-1].seq if len(events) == PAGE else None
    previous_url, next_url = _pager(
        "/console/audit", filters, "after_seq", after_seq, cursors(back), last
    )
    return page(request, "audit/log.html", node=node, t=t, user=user, events=events,
                filters=filters, errors=errors, previous_url=previous_url,
                next_url=next_url)  # fmt: skip


# --- verification -------------------------------------------------------------------------------


@router.get("/audit/verify", response_class=HTMLResponse)
def verify_form(request: Request, node: NodeDep, user: AuditorOrAdminPage, t: Lang) -> Response:
    """What the verification checks, and the button that runs it."""
    return page(request, "audit/verify.html", node=node, t=t, user=user, result=None)


@router.post("/audit/verify", response_class=HTMLResponse)
def verify(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: FormUser,
    _: AuditorOrAdminPage,
    t: Lang,
    addr: RemoteAddr,
) -> Response:
    """The node's own full verification of its log, as ``GET /api/v1/audit/verify`` runs it
    (recorded as ``audit.verify``), with the figures of the run."""
    started = node.utcnow()
    clock = time.perf_counter()
    result = VerificationOut.model_validate(
        audit.queries.verification(session, node, user.principal.actor(addr))
    )
    seconds = time.perf_counter() - clock
    return page(request, "audit/verify.html", node=node, t=t, user=user, result=result,
                started=started, seconds=f"{seconds:.3f}",
                rate=f"{result.records / seconds:,.0f}" if seconds > 0 else "—")  # fmt: skip


# --- checkpoints and alerts ---------------------------------------------------------------------


@router.get("/audit/checkpoints", response_class=HTMLResponse)
def checkpoints(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: AuditorOrAdminPage,
    t: Lang,
    after_size: Annotated[int, Query(ge=-1, le=MAX_SEQ)] = -1,
    back: Back = "",
) -> Response:
    """The checkpoints this node signed, smallest first, each with its partners' cosignatures
    (``GET /api/v1/audit/checkpoints``), and the latest one at the top."""
    rows = audit.queries.list_checkpoints(session, after_size=after_size, limit=CHECKPOINT_PAGE)
    signed = [CheckpointOut.model_validate(c) for c in rows]
    try:
        latest: CheckpointOut | None = CheckpointOut.model_validate(
            audit.queries.checkpoint(session, None)
        )
    except NotFound:
        latest = None
    last = signed[-1].size if len(signed) == CHECKPOINT_PAGE else None
    previous_url, next_url = _pager(
        "/console/audit/checkpoints", {}, "after_size", after_size, cursors(back), last
    )
    return page(request, "audit/checkpoints.html", node=node, t=t, user=user,
                checkpoints=signed, latest=latest, signed_at=_signed_at,
                previous_url=previous_url, next_url=next_url)  # fmt: skip


def _signed_at(text: str) -> datetime | None:
    """A checkpoint's or alert's ISO 8601 time, to show (None: not one)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@router.get("/audit/alerts", response_class=HTMLResponse)
def alerts(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: AuditorOrAdminPage,
    t: Lang,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Evidence the node found that a log was truncated, rolled back, forked or edited
    (``GET /api/v1/audit/alerts``), newest first."""
    found = [AlertOut.of(a) for a in audit.list_alerts(session)]
    shown = found[offset : offset + ALERT_PAGE]
    return page(
        request,
        "audit/alerts.html",
        node=node,
        t=t,
        user=user,
        alerts=shown,
        signed_at=_signed_at,
        previous_url=_url("/console/audit/alerts", {"offset": max(0, offset - ALERT_PAGE)})
        if offset > 0
        else None,
        next_url=_url("/console/audit/alerts", {"offset": offset + ALERT_PAGE})
        if len(found) > offset + ALERT_PAGE
        else None,
    )


# --- reconciling --------------------------------------------------------------------------------


@router.get("/audit/reconcile", response_class=HTMLResponse)
def reconcile_form(
    request: Request, node: NodeDep, session: ReadSession, user: AuditorPage, t: Lang
) -> Response:
    """Choose the partner to reconcile with."""
    partners = [p.node_id for p in identity.list_partners(session)]
    return page(request, "audit/reconcile.html", node=node, t=t, user=user, partners=partners,
                result=None)  # fmt: skip


@router.post("/audit/reconcile", response_class=HTMLResponse)
async def reconcile(
    request: Request,
    node: NodeDep,
    user: FormUser,
    _: AuditorPage,
    t: Lang,
    addr: RemoteAddr,
    partner: Annotated[str, Form(min_length=1, max_length=63)],
) -> Response:
    """Ask the partner for its lists and compare them with ours, as
    ``GET /api/v1/audit/reconcile`` does (no transaction is open while the partner answers)."""
    result = await exchange.reconcile(node, partner, user.principal.actor(addr))
    outcome = ReconciliationOut.model_validate(result.to_json())
    return page(request, "audit/reconcile.html", node=node, t=t, user=user, partners=[],
                result=outcome)  # fmt: skip


# --- one record and its proof -------------------------------------------------------------------


@router.get("/audit/{seq}", response_class=HTMLResponse)
def one_record(
    request: Request,
    seq: Seq,
    node: NodeDep,
    session: ReadSession,
    user: AuditorPage,
    t: Lang,
    addr: RemoteAddr,
) -> Response:
    """Record ``seq`` with its inclusion proof in the latest checkpoint
    (``GET /api/v1/audit/proof/{seq}``, recorded as ``audit.proof``); a record no checkpoint
    covers yet is shown without one (read as ``GET /api/v1/audit/events`` reads it)."""
    actor = user.principal.actor(addr)
    try:
        proof: ProofOut | None = ProofOut.model_validate(
            audit.queries.proof(session, node, actor, seq, None)
        )
    except NotFound as exc:
        if exc.code not in NOT_COVERED:
            raise
        proof = None
    if proof is not None:
        record: dict[str, Any] = proof.record.model_dump()
        record["at"] = _EPOCH + timedelta(microseconds=proof.record.at)
        record["leaf_hash"] = proof.leaf_hash
    else:
        wanted = audit.EventFilter(after_seq=seq - 1, limit=1)
        rows = audit.queries.read_events(session, node, actor, wanted)
        if not rows or rows[0][0].seq != seq:
            raise NotFound(f"no audit record {seq}", code="no_record")
        event, leaf = rows[0]
        record = AuditEventOut.of(event, None if leaf is None else b64u_encode(leaf)).model_dump()
    return page(request, "audit/record.html", node=node, t=t, user=user, seq=seq, record=record,
                proof=proof, signed_at=_signed_at, filename=proof_filename(node.node_id, seq),
                interval=int(node.settings.checkpoint_interval_seconds))  # fmt: skip


def proof_filename(node_id: str, seq: int) -> str:
    return f"liaison-audit-proof-{node_id}-{seq}.json"


@router.get("/audit/{seq}/proof")
def download_proof(
    seq: Seq, node: NodeDep, session: ReadSession, user: AuditorPage, addr: RemoteAddr
) -> Response:
    """The ``liaison-audit-proof/1`` file of record ``seq``, byte for byte what
    ``liaison audit proof SEQ --out FILE`` writes (the API's answer as JSON with sorted keys,
    two-space indent), so that ``liaison audit check-proof FILE`` checks it offline."""
    answer = audit.queries.proof(session, node, user.principal.actor(addr), seq, None)
    document = ProofOut.model_validate(answer).model_dump(mode="json")
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    filename = proof_filename(node.node_id, seq)
    return Response(
        text.encode("utf-8"),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

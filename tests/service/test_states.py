"""One set of names per state: the enums, the database's CHECK constraints, the migration that
created them, and the CLI's choices all agree; and the database refuses anything else."""

from __future__ import annotations

import importlib.util

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from clients import cli
from policies import TLP
from service import auth, models
from service.audit import ActorType, Outcome
from service.reports import DeliveryState, InboundStatus, ReleaseOutcome, Route
from tests.conftest import ROOT
from tests.service.test_sync import _submit

pytestmark = pytest.mark.anyio


def _migration():
    return _revision("0005")


def _revision(number: str):
    path = next((ROOT / "migrations" / "versions").glob(f"{number}_*.py"))
    spec = importlib.util.spec_from_file_location(f"revision_{number}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def values(enum) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


def test_the_cli_offers_the_states_the_node_has():
    assert set(cli.RELEASE_STATES) == set(values(DeliveryState))
    assert set(cli.INBOUND_STATUSES) == set(values(InboundStatus))
    assert cli.ROLES == auth.ROLES
    assert values(TLP) == cli.CLEARANCES


def test_the_database_constraints_allow_exactly_the_enums():
    assert values(DeliveryState) == models.DELIVERY_STATES
    assert values(ReleaseOutcome) == models.RELEASE_OUTCOMES
    assert values(Route) == models.ROUTES
    assert values(InboundStatus) == models.INBOUND_STATUSES
    assert models.ROLES == auth.ROLES
    assert values(TLP) == models.CLEARANCES
    assert values(Outcome) == models.AUDIT_OUTCOMES
    assert values(ActorType) == models.ACTOR_TYPES


def test_the_migration_writes_out_the_same_values():
    checks = _migration().CHECKS
    assert checks["deliveries"] == {"state": models.DELIVERY_STATES,
                                    "outcome": models.RELEASE_OUTCOMES,
                                    "acknowledged_via": models.ROUTES}  # fmt: skip
    assert checks["inbound"] == {"status": models.INBOUND_STATUSES}
    assert checks["users"] == {"role": models.ROLES, "clearance": models.CLEARANCES}
    before_0007 = _revision("0007").ACTOR_TYPES_BEFORE
    assert checks["audit_events"] == {"outcome": models.AUDIT_OUTCOMES,
                                      "actor_type": before_0007}  # fmt: skip
    assert _revision("0007").ACTOR_TYPES == models.ACTOR_TYPES  # 0007 added "integration"
    named = {
        constraint.name
        for table in models.Base.metadata.tables.values()
        for constraint in table.constraints
        if constraint.name and constraint.name.startswith("ck_")
    }
    expected = {f"ck_{t}_{c}" for t, columns in checks.items() for c in columns}
    later = {
        "ck_users_language",
        "ck_integrations_clearance",
        "ck_taxii_collections_kind",
        "ck_taxii_objects_kind",
        "ck_drafts_state",
    }  # added by revisions 0006 and 0007
    assert named == expected | later


def test_the_console_languages_are_the_ones_the_database_allows():
    from service.console import i18n

    assert tuple(i18n.LANGUAGES) == models.LANGUAGES


REFUSED = [
    ("UPDATE deliveries SET state = 'lost'", "ck_deliveries_state"),
    ("UPDATE deliveries SET outcome = 'maybe'", "ck_deliveries_outcome"),
    ("UPDATE deliveries SET acknowledged_via = 'pigeon'", "ck_deliveries_acknowledged_via"),
    ("UPDATE users SET role = 'superuser'", "ck_users_role"),
    ("UPDATE users SET clearance = 'white'", "ck_users_clearance"),
    ("UPDATE audit_events SET outcome = 'fine'", "ck_audit_events_outcome"),
    ("UPDATE audit_events SET actor_type = 'ghost'", "ck_audit_events_actor_type"),
]


async def test_the_database_refuses_a_state_it_does_not_know(pinned):
    iq, _ = pinned
    await _submit(iq, 1)
    for statement, constraint in REFUSED:
        with pytest.raises(IntegrityError, match=constraint), iq.node.db.write() as s:
            s.execute(text(statement))


async def test_the_database_refuses_an_inbound_status_it_does_not_know(pinned):
    iq, sy = pinned
    await _submit(iq, 1)
    await iq.deliver()
    with pytest.raises(IntegrityError, match="ck_inbound_status"), sy.node.db.write() as s:
        s.execute(text("UPDATE inbound SET status = 'read'"))
    with sy.node.db.read() as s:
        assert list(s.execute(text("SELECT status FROM inbound"))) == [("accepted",)]

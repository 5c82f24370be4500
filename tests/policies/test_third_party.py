"""The third-party rule across three nodes, IQ, SY and JO, with policies loaded from files.

SY writes a report and releases it to IQ. Whether IQ may pass it on to JO depends on IQ's policy
for JO and on the marking SY gave the report, recorded when IQ received it: what an IQ officer
does to the bundle afterwards (stripping the REL TO marking, lowering the TLP) changes nothing.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from policies import (
    TLP,
    Origin,
    Policy,
    decide_inbound,
    decide_outbound,
    load_policy_dir,
    rel_to_marking,
)

from .stixgen import (
    AMBER,
    CLEAR,
    GREEN,
    RED,
    TIME,
    bundle,
    identity,
    indicator,
    sid,
    validated,
)

NODES = ("IQ", "SY", "JO")


def policy_text(node: str, partner: str, third_party: str) -> str:
    return f"""\
format = "liaison-policy/1"
node = "{node}"
partner = "{partner}"

[outbound]
max_tlp = "red"
red_recipients = ["{partner}"]
third_party = "{third_party}"
"""


def load_all(tmp_path: Path, third_party: str) -> dict[str, dict[str, Policy]]:
    """Every node's policies for the two others, all with the same third-party setting."""
    loaded = {}
    for node in NODES:
        directory = tmp_path / third_party / node
        directory.mkdir(parents=True)
        for partner in NODES:
            if partner != node:
                (directory / f"{partner}.toml").write_text(policy_text(node, partner, third_party))
        loaded[node] = load_policy_dir(directory, node=node)
    return loaded


@pytest.fixture
def never(tmp_path: Path) -> dict[str, dict[str, Policy]]:
    return load_all(tmp_path, "never")


@pytest.fixture
def marking(tmp_path: Path) -> dict[str, dict[str, Policy]]:
    return load_all(tmp_path, "originator-marking")


def sy_report(tlp_id: str, *rel_to: str) -> dict[str, Any]:
    objects: list[dict[str, Any]] = []
    markings = [tlp_id]
    if rel_to:
        rel = rel_to_marking(rel_to, marking_id=sid("marking-definition", 7), created=TIME)
        objects.append(rel)
        markings.append(rel["id"])
    objects += [
        identity(1, markings=tuple(markings)),
        indicator(4, markings=tuple(markings), created_by_ref=sid("identity", 1)),
    ]
    return bundle(*objects)


def sy_to_iq(policies: dict[str, dict[str, Policy]], submitted: dict[str, Any]) -> Origin:
    """SY releases to IQ and IQ accepts; the origin IQ records."""
    report = validated(submitted)
    out = decide_outbound(
        policies["SY"]["IQ"], report.bundle, report_tlp=report.tlp, origin=Origin.local()
    )
    assert out.released is not None, out.reason
    received = validated(out.released)
    size = len(json.dumps(out.released).encode())
    inbound = decide_inbound(
        policies["IQ"]["SY"], received.bundle, size=size, report_tlp=received.tlp
    )
    assert inbound.accepted, inbound.reason
    return Origin.from_received_bundle("SY", received.bundle, tlp=received.tlp)


def iq_to(
    policies: dict[str, dict[str, Policy]], partner: str, submitted: dict[str, Any], origin: Origin
) -> tuple[str, str]:
    report = validated(submitted)
    decision = decide_outbound(
        policies["IQ"][partner], report.bundle, report_tlp=report.tlp, origin=origin
    )
    if decision.released is not None:
        # The receiver's inbound rules agree: what JO receives names it (or has no REL TO).
        back = decide_inbound(
            policies[partner]["IQ"],
            decision.released,
            size=1,
            report_tlp=validated(decision.released).tlp,
            authored_here=partner == "SY",  # SY recognises its own report coming back
        )
        assert back.accepted, back.reason
    return decision.outcome, decision.rule


CASES = [
    # id, SY's TLP marking, SY's REL TO, IQ's third-party setting, outcome to JO
    ("rel-to-names-jo", AMBER, ("IQ", "JO"), "originator-marking", ("allow", "outbound.allow")),
    ("rel-to-omits-jo", AMBER, ("IQ",), "originator-marking", ("deny", "outbound.third_party")),
    ("no-rel-to-amber", AMBER, (), "originator-marking", ("deny", "outbound.third_party")),
    ("no-rel-to-green", GREEN, (), "originator-marking", ("deny", "outbound.third_party")),
    ("clear", CLEAR, (), "originator-marking", ("allow", "outbound.allow")),
    ("clear-rel-to-omits-jo", CLEAR, ("IQ",), "originator-marking",
     ("deny", "outbound.third_party")),
    ("red-rel-to-names-jo", RED, ("IQ", "JO"), "originator-marking",
     ("deny", "outbound.third_party")),
    ("never-even-if-named", AMBER, ("IQ", "JO"), "never", ("deny", "outbound.third_party")),
    ("never-even-clear", CLEAR, (), "never", ("deny", "outbound.third_party")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tlp_id", "rel_to", "setting", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_iq_passes_sy_report_to_jo_only_as_sy_marked(
    tmp_path: Path,
    tlp_id: str,
    rel_to: tuple[str, ...],
    setting: str,
    expected: tuple[str, str],
) -> None:
    policies = load_all(tmp_path, setting)
    submitted = sy_report(tlp_id, *rel_to)
    origin = sy_to_iq(policies, submitted)
    assert iq_to(policies, "JO", submitted, origin) == expected
    # Back to SY, the originator, is never a third-party release.
    assert iq_to(policies, "SY", submitted, origin)[0] == "allow"


def test_stripping_the_marking_does_not_launder_a_report(
    marking: dict[str, dict[str, Policy]],
) -> None:
    submitted = sy_report(AMBER, "IQ")
    origin = sy_to_iq(marking, submitted)
    # An IQ officer removes SY's REL TO marking and relabels the report GREEN before forwarding.
    laundered = copy.deepcopy(submitted)
    laundered["objects"] = [o for o in laundered["objects"] if o["type"] != "marking-definition"]
    for obj in laundered["objects"]:
        obj["object_marking_refs"] = [GREEN]
    assert iq_to(marking, "JO", laundered, origin) == ("deny", "outbound.third_party")
    # Even where SY's marking did allow JO, the originator's TLP stays the floor.
    allowed_origin = Origin.received("SY", tlp=TLP.AMBER, rel_to=frozenset({"IQ", "JO"}))
    report = validated(laundered)
    decision = decide_outbound(
        marking["IQ"]["JO"], report.bundle, report_tlp=report.tlp, origin=allowed_origin
    )
    assert decision.tlp is TLP.AMBER


def test_sy_itself_cannot_send_what_it_marked_for_others(
    never: dict[str, dict[str, Policy]],
) -> None:
    report = validated(sy_report(AMBER, "JO"))
    decision = decide_outbound(
        never["SY"]["IQ"], report.bundle, report_tlp=report.tlp, origin=Origin.local()
    )
    assert (decision.outcome, decision.rule) == ("deny", "outbound.rel_to")
    # And had it been sent, IQ would quarantine it rather than accept it.
    inbound = decide_inbound(never["IQ"]["SY"], report.bundle, size=1, report_tlp=report.tlp)
    assert (inbound.outcome, inbound.rule) == ("quarantine", "inbound.rel_to")

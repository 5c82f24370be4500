"""Property: nothing redacted ever reaches the partner, and what reaches it is a valid bundle.

For random STIX bundles (identities, some of them sources; indicators and intrusion sets with
``x_source_`` fields at the top and nested; notes, relationships, sightings and reports pointing
at them) and random redaction rules, the bundle a partner decrypts

* holds no redacted property name or prefix at any depth, no object of a removed type and no
  identity of a removed class;
* has no reference to an object it does not hold;
* is accepted by ``service.reports.stix.validate_report``;

and the submitted bundle is left as it was. The released bundle is canonicalised, sealed to the
partner and opened as the partner would, and the checks run on what the partner opened.
"""

from __future__ import annotations

import copy
import functools
import json
import uuid
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crypto.canonical import canonicalize, parse_strict
from crypto.envelope import open_envelope, seal
from crypto.keys import NodeIdentity
from policies import TLP, Origin, Redaction, decide_outbound

from .stixgen import (
    AMBER,
    GREEN,
    all_keys,
    all_refs,
    bundle,
    identity,
    indicator,
    intrusion_set,
    note,
    policy,
    relationship,
    report,
    sid,
    sighting,
    tlp_definition,
    validated,
)

NOW = 1_764_374_400
PROPERTY_POOL = ["description", "x_liaison_internal", "grade", "x_note_text", "region"]
PREFIX_POOL = ["x_source_", "x_liaison_", "x_src", "x_"]
TYPE_POOL = ["note", "indicator", "intrusion-set", "sighting", "identity", "relationship", "report"]
CLASS_POOL = ["individual", "group", "organization"]
NESTED_KEYS = ["x_source_meeting", "region", "x_liaison_internal", "grade", "x_source_", "detail"]


@functools.cache
def nodes() -> tuple[NodeIdentity, NodeIdentity]:
    return NodeIdentity.generate("IQ", now=NOW - 3600), NodeIdentity.generate("SY", now=NOW - 3600)


def what_sy_decrypts(released: dict[str, Any]) -> Any:
    iq, sy = nodes()
    sealed = seal(
        sender=iq,
        recipient_id="SY",
        recipient_key=sy.current_kem_key(NOW).published(),
        body=canonicalize(released),
        content_type="application/stix+json;version=2.1",
        message_id=str(uuid.uuid4()),
        seq=1,
        now=NOW,
    )
    opened = open_envelope(sealed.data, recipient=sy, senders={"IQ": iq.signing.public}, now=NOW)
    return parse_strict(opened.body)


nested_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.text(max_size=8), st.integers(-5, 5), st.booleans()),
    lambda children: st.one_of(
        st.dictionaries(st.sampled_from(NESTED_KEYS), children, min_size=1, max_size=2),
        st.lists(
            st.dictionaries(st.sampled_from(NESTED_KEYS), children, min_size=1),
            min_size=1,
            max_size=2,
        ),
    ),
    max_leaves=10,
)


def custom_properties() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "description": st.just("Fictional description."),
            "x_source_handler": st.just("H-7"),
            "x_source_reliability": st.sampled_from(["A", "B", "C"]),
            "x_liaison_internal": st.just("internal"),
            "x_details": st.dictionaries(
                st.sampled_from(NESTED_KEYS), nested_values, min_size=1, max_size=3
            ),
        },
    )


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, Any]:
    n = iter(range(1, 1000))
    marking = draw(st.sampled_from([AMBER, GREEN]))
    objects: list[dict[str, Any]] = [tlp_definition("amber"), tlp_definition("green")]
    identities = [
        identity(
            next(n),
            cls=draw(st.sampled_from(CLASS_POOL)),
            markings=(marking,),
            **draw(custom_properties()),
        )
        for _ in range(draw(st.integers(1, 3)))
    ]
    identity_ids = [i["id"] for i in identities]
    author = st.one_of(st.none(), st.sampled_from(identity_ids))

    def authored(props: dict[str, Any]) -> dict[str, Any]:
        who = draw(author)
        return {**props, "created_by_ref": who} if who else props

    indicators = [
        indicator(next(n), markings=(marking,), **authored(draw(custom_properties())))
        for _ in range(draw(st.integers(1, 3)))
    ]
    sets = [
        intrusion_set(next(n), markings=(marking,), **authored(draw(custom_properties())))
        for _ in range(draw(st.integers(0, 2)))
    ]
    sdos = identities + indicators + sets
    sdo_ids = [o["id"] for o in sdos]
    objects += sdos
    for _ in range(draw(st.integers(0, 3))):
        source, target = draw(st.sampled_from(sdo_ids)), draw(st.sampled_from(sdo_ids))
        objects.append(relationship(next(n), source, target, markings=(marking,)))
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.lists(st.sampled_from(identity_ids), unique=True, max_size=2))
        objects.append(
            sighting(next(n), draw(st.sampled_from(indicators))["id"], where, markings=(marking,))
        )
    for _ in range(draw(st.integers(0, 2))):
        refs = draw(st.lists(st.sampled_from(sdo_ids), unique=True, min_size=1, max_size=3))
        objects.append(note(next(n), refs, markings=(marking,)))
    if draw(st.booleans()):
        everything = [o["id"] for o in objects if o["type"] != "marking-definition"]
        refs = draw(st.lists(st.sampled_from(everything), unique=True, min_size=1))
        objects.append(report(next(n), refs, markings=(marking,)))
    return bundle(*objects)


redactions = st.builds(
    Redaction,
    properties=st.frozensets(st.sampled_from(PROPERTY_POOL)),
    property_prefixes=st.lists(st.sampled_from(PREFIX_POOL), unique=True).map(tuple),
    object_types=st.frozensets(st.sampled_from(TYPE_POOL)),
    identity_classes=st.frozensets(st.sampled_from(CLASS_POOL)),
)


def redacted_key(key: str, redaction: Redaction) -> bool:
    return key in redaction.properties or key.startswith(redaction.property_prefixes)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(submitted=bundles(), redaction=redactions)
def test_nothing_redacted_reaches_the_partner(
    submitted: dict[str, Any], redaction: Redaction
) -> None:
    report_ = validated(submitted)  # the generated bundle is valid STIX with TLP everywhere
    before = copy.deepcopy(report_.bundle)
    decision = decide_outbound(
        policy(redact=redaction), report_.bundle, report_tlp=report_.tlp, origin=Origin.local()
    )
    assert report_.bundle == before
    event(f"outcome {decision.outcome}")
    event(
        "nested property removed"
        if any("." in p.path for p in decision.removed.properties)
        else "no nested property removed"
    )
    event("refs repaired" if decision.removed.refs else "no ref repaired")
    if decision.released is None:
        assert (decision.outcome, decision.rule) == ("deny", "outbound.redact")
        return
    received = what_sy_decrypts(decision.released)
    assert received == decision.released

    objects = received["objects"]
    present = {obj["id"] for obj in objects}
    for obj in objects:
        assert obj["type"] not in redaction.object_types
        assert not (
            obj["type"] == "identity" and obj["identity_class"] in redaction.identity_classes
        )
        if obj["type"] != "marking-definition":
            leaked = {k for k in all_keys(obj) if redacted_key(k, redaction)}
            assert not leaked, f"{obj['id']} still holds {leaked}"
    assert all_refs(received) <= present
    # The partner gets a bundle the service itself accepts, at no higher TLP.
    assert validated(received).tlp <= decision.tlp
    # And everything that is gone is accounted for.
    assert {o.id for o in decision.removed.objects} == {
        o["id"] for o in before["objects"]
    } - present
    text = json.dumps(received)
    for removed in decision.removed.objects:
        assert removed.id not in text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(submitted=bundles())
def test_without_rules_the_partner_receives_the_submission(submitted: dict[str, Any]) -> None:
    report_ = validated(submitted)
    decision = decide_outbound(
        policy(max_tlp=TLP.AMBER), report_.bundle, report_tlp=report_.tlp, origin=Origin.local()
    )
    assert (decision.outcome, decision.released) == ("allow", report_.bundle)
    assert decision.diff() == ""
    assert sid("bundle", 99) == decision.released["id"]

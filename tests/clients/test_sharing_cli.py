"""The CLI under sharing policies, against two in-process nodes: a denied submission, a release
held for a releaser's approval, refused and approved releases, clearances, and the quarantine.

Each test installs the policies it needs the way an operator would (a file in the node's
policies dir), then reloads them into the running node as a restart would.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import pytest

from policies import load_policy_dir
from tests.policyfiles import open_policy, write_policy
from tests.twonode import PASSWORD, REPORTS

if TYPE_CHECKING:  # imported at run time, pytest would try to collect it as a test class
    from tests.twonode import TestNode

REPORT = REPORTS / "iq-cell-wadi7.json"  # TLP:AMBER, 5 objects

STRICT = """format = "liaison-policy/1"
node = "IQ"
partner = "SY"
description = "releases nothing above TLP:GREEN"

[outbound]
max_tlp = "green"
"""


def use_policy(node: TestNode, partner: str, text: str) -> None:
    """Write ``node``'s policy for ``partner`` and load its policies again (as a restart does)."""
    path = node.node.settings.policies_path
    write_policy(path, partner, text)
    node.node.sharing = load_policy_dir(path, node=node.node_id)


@pytest.fixture
def session(cli, pinned, tmp_path):
    """``session(user)``: a CLI logged in to IQ (or ``node``) as ``user``, each user with a token
    file of their own, so that several officers can act in one test."""

    def login(username: str, node: TestNode | None = None):
        target = node or pinned.iq
        env = {
            "LIAISON_URL": target.url,
            "LIAISON_TOKEN_FILE": str(tmp_path / f"token-{target.node_id}-{username}"),
        }

        def run(*argv: str, **kw):
            kw.setdefault("transport", pinned.transport)
            return cli(*argv, env={**env, **kw.pop("env", {})}, **kw)

        result = run("login", username, "--password-stdin", stdin=PASSWORD + "\n")
        assert result.code == 0, result.err
        return run

    return login


@pytest.fixture
def releasers(session):
    """Two releasers on IQ, rita and rex, added by the admin over HTTP."""
    admin = session("admin")
    for name in ("rita", "rex"):
        added = admin(
            "user", "add", name, "--role", "releaser", "--password-stdin", stdin=PASSWORD + "\n"
        )
        assert added.code == 0, added.err
    return session


def submitted_id(result) -> str:
    assert result.code == 0, result.err
    return result.out.split()[1].rstrip(":")


# -- a denied submission --


def test_a_denied_submission_exits_1_with_each_partners_rule(session, pinned):
    use_policy(pinned.iq, "SY", STRICT)
    officer = session("officer")

    result = officer("report", "submit", str(REPORT), "--to", "SY")

    assert (result.code, result.out) == (1, "")
    first, *details = result.err.splitlines()
    assert first.startswith("liaison: the sharing policy denies the release, nothing was submitted")
    assert len(details) == 1
    assert details[0].startswith("  SY: deny by rule outbound.max_tlp: ")
    assert "(policy sha256:" in details[0]
    assert officer("report", "list").out == "no reports\n"


def test_a_denied_submission_with_json_prints_every_decision(session, pinned):
    use_policy(pinned.iq, "SY", STRICT)
    officer = session("officer")

    result = officer("report", "submit", str(REPORT), "--to", "SY", "--json")

    assert result.code == 1
    answer = json.loads(result.out)
    assert answer["code"] == "policy_denied"
    [decision] = answer["decisions"]
    assert (decision["partner"], decision["outcome"], decision["rule"]) == (
        "SY",
        "deny",
        "outbound.max_tlp",
    )
    assert "outbound.max_tlp" in result.err


def test_a_partner_without_a_policy_receives_nothing(session, pinned):
    (pinned.iq.node.settings.policies_path / "SY.toml").unlink()
    pinned.iq.node.sharing = load_policy_dir(pinned.iq.node.settings.policies_path, node="IQ")
    officer = session("officer")

    result = officer("report", "submit", str(REPORT), "--to", "SY")

    assert result.code == 1
    assert "  SY: deny by rule outbound.no_policy: no sharing policy for SY" in result.err


# -- a release held for a second officer --


def hold_at_amber(pinned) -> None:
    use_policy(pinned.iq, "SY", open_policy("IQ", "SY", extra='two_person_min_tlp = "amber"'))


def test_a_held_release_is_approved_by_another_releaser_and_delivered(releasers, pinned, cli):
    hold_at_amber(pinned)
    rita, rex = releasers("rita"), releasers("rex")

    submitted = rita("report", "submit", str(REPORT), "--to", "SY")
    report_id = submitted_id(submitted)
    assert "-> SY:held\n" in submitted.out
    assert (
        f"  SY: hold - waits for a second officer with the releaser role "
        f"(liaison release approve {report_id} --partner SY)\n" in submitted.out
    )
    assert asyncio.run(pinned.iq.deliver()) == 0  # nothing leaves while held

    held = rex("release", "list", "--state", "held")
    assert held.code == 0, held.err
    header, row = held.out.splitlines()
    assert header.split()[:6] == ["REPORT", "CREATED", "PARTNER", "STATE", "OUTCOME", "RULE"]
    assert row.startswith(report_id)
    assert row.split()[3:7] == ["SY", "held", "hold", "outbound.two_person"]
    assert row.endswith("Cell WADI-7 (fictional)")
    assert rex("release", "list", "--state", "held", "--partner", "JO").out == "no releases\n"

    shown = rex("release", "show", report_id, "--partner", "SY")
    assert shown.code == 0, shown.err
    assert "State:           held\n" in shown.out
    assert "Outcome:         hold (once approved: allow)\n" in shown.out
    assert "Rule:            outbound.two_person\n" in shown.out
    assert "Steps:\n" in shown.out and "  outbound.two_person: hold - " in shown.out
    assert "no difference: the partner receives the report as submitted" in shown.out

    # The submitter may not approve their own release: the two-person rule.
    own = rita("release", "approve", report_id, "--partner", "SY")
    assert (own.code, own.out) == (1, "")
    assert own.err.startswith(
        "liaison: the second officer must be another person than the submitter\n"
    )
    assert "  rule outbound.two_person: " in own.err

    approved = rex("release", "approve", report_id, "--partner", "SY", "--note", "checked")
    assert approved.code == 0, approved.err
    assert approved.out == (f"approved the release of {report_id} to SY: queued (allow), seq 1\n")
    again = rex("release", "approve", report_id, "--partner", "SY")
    assert again.code == 1 and "not held for approval" in again.err

    assert asyncio.run(pinned.iq.deliver()) == 1
    report = json.loads(rita("report", "show", report_id, "--json").out)
    [delivery] = report["deliveries"]
    assert (delivery["state"], delivery["outcome"], delivery["seq"]) == ("acknowledged", "allow", 1)
    release = json.loads(rex("release", "show", report_id, "--partner", "SY", "--json").out)
    assert (release["reviewed_by"], release["review_note"]) == ("rex", "checked")

    sy = releasers("officer", pinned.sy)
    inbox = json.loads(sy("inbox", "--json").out)
    assert [(r["sender"], r["bundle_id"]) for r in inbox] == [("IQ", report["bundle_id"])]


def test_an_officer_without_the_releaser_role_cannot_approve(releasers, pinned):
    hold_at_amber(pinned)
    rita, officer = releasers("rita"), releasers("officer")
    report_id = submitted_id(rita("report", "submit", str(REPORT), "--to", "SY"))

    result = officer("release", "approve", report_id, "--partner", "SY")

    assert result.code == 1
    assert result.err.startswith("liaison: approving a held release needs the releaser role\n")
    state = json.loads(officer("report", "show", report_id, "--json").out)["deliveries"][0]
    assert state["state"] == "held"


def test_a_refused_release_is_withheld_for_good(releasers, pinned):
    hold_at_amber(pinned)
    rita, rex = releasers("rita"), releasers("rex")
    report_id = submitted_id(rita("report", "submit", str(REPORT), "--to", "SY"))

    refused = rex("release", "refuse", report_id, "--partner", "SY", "--note", "not now")
    assert (refused.code, refused.out) == (
        0,
        f"refused the release of {report_id} to SY: withheld\n",
    )

    approve = rex("release", "approve", report_id, "--partner", "SY")
    assert approve.code == 1
    assert approve.err == (
        f"liaison: the release of report {report_id} to SY is withheld, not held for approval\n"
    )
    assert asyncio.run(pinned.iq.deliver()) == 0

    listed = rita("report", "list")
    assert listed.out.splitlines()[1].endswith("SY:withheld(hold)")
    shown = rita("report", "show", report_id)
    assert "SY: withheld, not sent" in shown.out
    assert rex("release", "list", "--state", "held").out == "no releases\n"
    withheld = json.loads(rex("release", "list", "--state", "withheld", "--json").out)
    assert [(r["report_id"], r["review_note"]) for r in withheld] == [(report_id, "not now")]


def test_a_policy_tightened_while_held_withholds_on_approval(releasers, pinned):
    hold_at_amber(pinned)
    rita, rex = releasers("rita"), releasers("rex")
    report_id = submitted_id(rita("report", "submit", str(REPORT), "--to", "SY"))
    use_policy(pinned.iq, "SY", STRICT)

    result = rex("release", "approve", report_id, "--partner", "SY")

    assert result.code == 1
    assert "  SY: deny by rule outbound.max_tlp: " in result.err
    assert rita("report", "list").out.splitlines()[1].endswith("SY:withheld(deny)")


def test_an_auditor_follows_releases_without_titles(releasers, pinned):
    hold_at_amber(pinned)
    report_id = submitted_id(releasers("rita")("report", "submit", str(REPORT), "--to", "SY"))
    auditor = releasers("auditor")

    listed = json.loads(auditor("release", "list", "--json").out)
    assert [(r["report_id"], r["state"], r["title"]) for r in listed] == [(report_id, "held", None)]
    assert auditor("release", "list").out.splitlines()[1].endswith("-")
    shown = auditor("release", "show", report_id, "--partner", "SY")
    assert (shown.code, shown.err) == (
        1,
        "liaison: this action needs the officer or releaser role\n",
    )


def test_a_redacted_release_shows_what_was_removed(session, pinned, tmp_path):
    extra = '[outbound.redact]\nproperty_prefixes = ["x_source_"]'
    use_policy(pinned.iq, "SY", open_policy("IQ", "SY", extra=extra))
    bundle = json.loads(REPORT.read_text())
    for obj in bundle["objects"]:
        if obj["type"] == "indicator":
            obj["x_source_handler"] = "fictional handler K-9"
    path = tmp_path / "sourced.json"
    path.write_text(json.dumps(bundle))
    officer = session("officer")

    submitted = officer("report", "submit", str(path), "--to", "SY")
    report_id = submitted_id(submitted)
    assert "-> SY:queued(redact)\n" in submitted.out
    assert (
        f"  SY: redact - queued, seq 1; what was removed: liaison release show {report_id} "
        "--partner SY\n" in submitted.out
    )
    shown = officer("release", "show", report_id, "--partner", "SY")
    assert shown.code == 0, shown.err
    assert "Outcome:         redact\n" in shown.out
    assert '\n-      "x_source_handler": "fictional handler K-9"\n' in shown.out
    released = json.loads(officer("release", "show", report_id, "--partner", "SY", "--json").out)
    assert "x_source_handler" not in json.dumps(released["released"])


# -- clearances --


def test_an_officer_reads_only_up_to_the_clearance(session, pinned):
    admin = session("admin")
    added = admin(
        "user",
        "add",
        "gina",
        "--role",
        "officer",
        "--clearance",
        "GREEN",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert (added.code, added.out) == (0, "added user gina (officer, clearance green)\n"), added.err
    users = {u["username"]: u for u in json.loads(admin("user", "list", "--json").out)}
    assert (users["gina"]["clearance"], users["auditor"]["clearance"]) == ("green", None)
    table = admin("user", "list").out.splitlines()
    assert [line.split()[:3] for line in table if line.startswith("gina")] == [
        ["gina", "officer", "green"]
    ]
    refused = admin(
        "user",
        "add",
        "al",
        "--role",
        "auditor",
        "--clearance",
        "red",
        env={"LIAISON_PASSWORD": PASSWORD},
    )
    assert refused.code == 1 and "takes no clearance" in refused.err

    report_id = submitted_id(session("officer")("report", "submit", str(REPORT), "--to", "SY"))
    gina = session("gina")
    assert gina("report", "list").out == "no reports\n"
    denied = gina("report", "show", report_id)
    assert denied.code == 1
    details = denied.err.splitlines()[1:]
    assert len(details) == 1 and details[0].startswith("  rule access.clearance: ")


# -- the quarantine --


@pytest.fixture
def quarantined(session, pinned):
    """A report IQ sent that SY's inbound policy quarantined (SY accepts nothing above GREEN)."""
    extra = '\n[inbound]\nmax_tlp = "green"'
    use_policy(pinned.sy, "IQ", open_policy("SY", "IQ", extra=extra))
    submitted_id(session("officer")("report", "submit", str(REPORT), "--to", "SY"))
    assert asyncio.run(pinned.iq.deliver()) == 1
    sy = session("officer", pinned.sy)
    listed = sy("inbox", "--quarantined")
    assert listed.code == 0, listed.err
    header, row = listed.out.splitlines()
    assert header.split() == ["ID", "RECEIVED", "SENDER", "TLP", "RULE", "REVIEWED", "BY", "TITLE"]
    assert "  inbound.max_tlp  " in row
    return sy, row.split()[0]


def test_a_quarantined_report_is_shown_with_its_rule_and_accepted(quarantined):
    sy, inbound_id = quarantined
    assert sy("inbox").out == "no received reports\n"

    shown = sy("inbox", "show", inbound_id)
    assert shown.code == 0, shown.err
    assert "Status:           quarantined\n" in shown.out
    assert "Rule:             inbound.max_tlp\n" in shown.out
    assert "Findings:\n  inbound.max_tlp: " in shown.out
    assert f"review: liaison inbox accept {inbound_id}" in shown.out

    accepted = sy("inbox", "accept", inbound_id, "--note", "read it, fine")
    assert accepted.code == 0, accepted.err
    assert accepted.out == (
        f"accepted into the inbox: received report {inbound_id} from IQ "
        "(quarantined by inbound.max_tlp)\n"
    )
    assert [r["id"] for r in json.loads(sy("inbox", "--json").out)] == [inbound_id]
    assert sy("inbox", "--quarantined").out == "no quarantined reports\n"
    row = json.loads(sy("inbox", "show", inbound_id, "--json").out)
    assert (row["status"], row["reviewed_by"], row["review_note"]) == (
        "accepted",
        "officer",
        "read it, fine",
    )
    again = sy("inbox", "reject", inbound_id)
    assert (again.code, again.err) == (
        1,
        f"liaison: received report {inbound_id} is accepted, not quarantined\n",
    )


def test_a_quarantined_report_is_rejected(quarantined):
    sy, inbound_id = quarantined

    rejected = sy("inbox", "reject", inbound_id, "--json")

    assert rejected.code == 0, rejected.err
    assert json.loads(rejected.out)["status"] == "rejected"
    assert sy("inbox").out == "no received reports\n"
    assert sy("inbox", "--quarantined").out == "no quarantined reports\n"
    listed = sy("inbox", "list", "--status", "rejected")
    assert listed.out.splitlines()[1].split()[0] == inbound_id
    assert "  officer  " in listed.out.splitlines()[1]


def test_inbox_takes_one_status(session, pinned):
    sy = session("officer", pinned.sy)
    result = sy("inbox", "--quarantined", "--rejected")
    assert result.code == 2 and "not allowed with argument" in result.err

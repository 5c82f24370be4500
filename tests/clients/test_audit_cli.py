"""The auditor's CLI against in-process nodes: the log in three formats, and verification on the
auditor's side (whole log, one record's proof, an export) that an insider's edit cannot pass."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from clients.cli.audit import log as audit_log
from crypto import merkle
from crypto.encoding import b64u_decode, b64u_encode
from crypto.fingerprint import fingerprint
from service.audit import log as auditlog
from service.exchange import witness_all
from service.models import AuditEvent
from tests import twonode
from tests.clients.conftest import Cluster, Result
from tests.twonode import PASSWORD, REPORTS

REPORT = REPORTS / "iq-cell-wadi7.json"


def sql(node: twonode.TestNode, statement: str, **params: Any) -> None:
    """What an insider with the database's password does: plain SQL, no signing key."""
    with node.node.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def log_size(node: twonode.TestNode) -> int:
    with node.node.db.write() as s:
        return auditlog.size(s)


def first_seq(node: twonode.TestNode, action: str) -> int:
    with node.node.db.write() as s:
        seq = s.scalars(
            select(AuditEvent.seq).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).first()
    assert seq is not None
    return seq


def field(out: str, label: str) -> str:
    """The value of ``Label:  value`` in a command's output."""
    [value] = [
        line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith(f"{label}:")
    ]
    return value


def whole_log(seqs: list[int], node: twonode.TestNode, before: int) -> bool:
    """``seqs`` is the log from its start, at least as far as it was (``before``) and at most as
    far as it is now (each page read is itself recorded, at the end)."""
    return seqs == list(range(len(seqs))) and before <= len(seqs) <= log_size(node)


def fp(node: twonode.TestNode) -> str:
    return fingerprint(node.node.identity.signing.public)


def witness_round(witness: twonode.TestNode) -> None:
    """One witness round of ``witness``: it checks and cosigns its partner's checkpoint."""
    asyncio.run(witness_all(witness.node))


@dataclass
class Audit:
    """A CLI bound to IQ with its auditor logged in, after some activity."""

    cli: Any
    cluster: Cluster

    def __call__(self, *argv: str, node: twonode.TestNode | None = None, **kw: Any) -> Result:
        node = node or self.cluster.iq
        env = {"LIAISON_URL": node.url, **kw.pop("env", {})}
        return self.cli(*argv, env=env, transport=self.cluster.transport, **kw)

    def login(self, user: str, node: twonode.TestNode | None = None) -> None:
        result = self("login", user, "--password-stdin", stdin=PASSWORD + "\n", node=node)
        assert result.code == 0, result.err


@pytest.fixture
def audit(cli, pinned) -> Audit:
    """IQ after a report sent to SY and a refused login, with a checkpoint SY cosigned."""
    run = Audit(cli, pinned)
    run.login("officer")
    assert run("report", "submit", str(REPORT), "--to", "SY").code == 0
    assert asyncio.run(pinned.iq.deliver()) == 1
    refused = run("login", "officer", "--password-stdin", stdin="not the password\n")
    assert refused.code == 3
    witness_round(pinned.sy)  # SY asks IQ for a checkpoint and cosigns it
    run.login("auditor")
    return run


# -- audit log -----------------------------------------------------------------------------------


def test_audit_alone_is_audit_log(audit):
    alone = audit("audit", "--action", "auth.login", "--json")
    assert alone.code == 0, alone.err
    events = json.loads(alone.out)
    assert events and all(e["action"] == "auth.login" for e in events)
    assert audit("audit", "log", "--action", "auth.login", "--format", "json").out == alone.out
    table = audit("audit").out.splitlines()
    assert table[0].split() == ["SEQ", "AT", "ACTOR", "ACTION", "OBJECT", "OUTCOME", "REASON"]
    assert table[1].split()[0] == "0"


def test_audit_log_filters(audit):
    def seqs(*argv: str) -> list[int]:
        result = audit("audit", "log", "--json", "--all", *argv)
        assert result.code == 0, result.err
        return [e["seq"] for e in json.loads(result.out)]

    def records(*argv: str) -> list[dict[str, Any]]:
        return json.loads(audit("audit", "log", "--json", "--all", *argv).out)

    iq, before = audit.cluster.iq, log_size(audit.cluster.iq)
    everything = records()
    assert whole_log([e["seq"] for e in everything], iq, before)
    denied = records("--outcome", "denied")
    assert denied and {e["outcome"] for e in denied} == {"denied"}
    assert any(e["action"] == "auth.login" for e in denied)
    by_officer = records("--actor", "officer")
    assert by_officer and {e["actor"] for e in by_officer} == {"officer"}
    report_prefix = records("--action", "report.*")
    assert {e["action"] for e in report_prefix} >= {"report.submit"}
    assert all(e["action"].startswith("report.") for e in report_prefix)
    assert records("--action", "report.") == []  # exact unless it ends with *
    [submitted] = records("--action", "report.submit")
    one_object = records("--object", submitted["object_id"])
    assert submitted in one_object and {e["object_id"] for e in one_object} == {
        submitted["object_id"]
    }
    typed = records("--object-type", submitted["object_type"])
    assert submitted in typed and {e["object_type"] for e in typed} == {submitted["object_type"]}
    after = seqs("--after-seq", "3")
    assert after[: len(everything) - 4] == [e["seq"] for e in everything if e["seq"] > 3]
    assert min(after) == 4
    limited = audit("audit", "log", "--json", "--limit", "3")
    assert [e["seq"] for e in json.loads(limited.out)] == [0, 1, 2]
    # Times: everything happened after an hour ago and before an hour from now (both as UTC,
    # one with an offset, one naive).
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=3)))
    soon = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None)
    before = log_size(iq)
    assert whole_log(seqs("--since", hour_ago.isoformat(), "--until", soon.isoformat()), iq, before)
    assert seqs("--since", soon.isoformat()) == []
    assert seqs("--until", hour_ago.isoformat()) == []
    bad = audit("audit", "log", "--since", "yesterday")
    assert bad.code == 2 and "not an ISO 8601 time" in bad.err


def test_all_pages_through_by_after_seq(audit, monkeypatch):
    monkeypatch.setattr(audit_log, "PAGE_SIZE", 4)
    iq, before = audit.cluster.iq, log_size(audit.cluster.iq)
    result = audit("audit", "log", "--all", "--json")
    read = [e for e in json.loads(result.out) if e["action"] == "audit.read"]
    assert whole_log([e["seq"] for e in json.loads(result.out)], iq, before)
    assert [r["reason"] for r in read[:2]] == ["after seq -1, 4 records", "after seq 3, 4 records"]
    some = audit("audit", "log", "--limit", "9", "--json", "--after-seq", "2")
    assert [e["seq"] for e in json.loads(some.out)] == list(range(3, 12))
    assert audit("audit", "log", "--all", "--limit", "3").code == 2  # one or the other


def test_audit_log_as_csv(audit):
    result = audit("audit", "log", "--format", "csv", "--all")
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(result.out)))
    assert rows[0] == list(audit_log.CSV_COLUMNS)
    as_json = json.loads(audit("audit", "log", "--json", "--all").out)
    assert len(rows) > 10 and len(as_json) > len(rows) - 1  # the CSV read is in the log now
    header = rows[0]
    for row, event in zip(rows[1:], as_json, strict=False):
        cells = dict(zip(header, row, strict=True))
        assert cells["seq"] == str(event["seq"]) and cells["action"] == event["action"]
        assert cells["leaf_hash"] == event["leaf_hash"]
        assert cells["role"] == (event["role"] or "")


def test_a_csv_cell_cannot_be_a_formula_or_drive_the_terminal(audit):
    sql(
        audit.cluster.iq,
        "UPDATE audit_events SET reason = :r WHERE seq = 0",
        r='=HYPERLINK("http://evil")\x1b[2J',
    )
    rows = list(csv.reader(io.StringIO(audit("audit", "log", "--format", "csv").out)))
    reason = rows[1][audit_log.CSV_COLUMNS.index("reason")]
    assert reason == '\'=HYPERLINK("http://evil")?[2J'
    # JSON keeps the value exact (escaped for the terminal, same JSON value).
    assert json.loads(audit("audit", "log", "--json").out)[0]["reason"].startswith("=HYPER")


# -- audit verify --------------------------------------------------------------------------------


def test_verify_passes_on_an_untouched_log(audit, monkeypatch):
    monkeypatch.setattr(audit_log, "PAGE_SIZE", 5)  # and across pages
    iq, before = audit.cluster.iq, log_size(audit.cluster.iq)
    result = audit("audit", "verify", "--fingerprint", fp(iq))
    assert result.code == 0, result.err
    n = int(field(result.out, "Records").removesuffix(" verified"))
    assert before < n <= log_size(iq)  # all, and the reads recorded as it read
    assert "(the fingerprint you gave)" in result.out
    assert ": cosigned by SY" in result.out
    assert result.out.splitlines()[-1] == f"verified: IQ's audit log is intact, {n} records"
    assert result.err == ""  # no warning: the node is pinned, its latest checkpoint cosigned
    report = json.loads(
        audit("audit", "verify", "--json", env={"LIAISON_NODE_FINGERPRINT": fp(iq)}).out
    )
    assert report["ok"] and report["fingerprint_checked"] and report["records"] > n
    n = report["records"]
    assert report["checkpoints"][-1]["cosigned_by"] == ["SY"]
    assert report["witnesses"] == {
        "SY": {"fingerprint": fp(audit.cluster.sy), "fingerprint_checked": False}
    }
    # The root is the node's own, recomputed here from the records.
    with iq.node.db.write() as s:
        from service.audit import checkpoints

        assert b64u_decode(report["root"]) == checkpoints.root_of(s, n)


def test_verify_names_a_record_edited_in_the_database(audit):
    iq = audit.cluster.iq
    seq = first_seq(iq, "report.submit")
    sql(iq, "UPDATE audit_events SET reason = 'nothing happened' WHERE seq = :s", s=seq)
    result = audit("audit", "verify", "--fingerprint", fp(iq))
    assert result.code == 1
    assert f"FAILED at V2: record {seq}: the record does not match" in result.out
    assert field(result.out, "Records") == f"{seq} verified before the failure"
    assert result.err.splitlines()[-1].startswith(
        f"liaison: IQ's audit log does not verify: V2: record {seq}: "
    )


def test_verify_names_a_deleted_record(audit):
    iq = audit.cluster.iq
    seq = first_seq(iq, "auth.login")
    sql(iq, "DELETE FROM audit_events WHERE seq = :s", s=seq)
    deleted = audit("audit", "verify", "--fingerprint", fp(iq))
    assert (
        deleted.code == 1 and f"V1: record {seq}: records {seq}..{seq} are missing" in deleted.out
    )


def test_verify_catches_a_record_rewritten_with_its_leaf_hash(audit):
    """The insider recomputes the leaf too: the root the node signed still gives it away."""
    iq = audit.cluster.iq
    seq = first_seq(iq, "report.submit")
    sql(iq, "UPDATE audit_events SET reason = 'nothing happened' WHERE seq = :s", s=seq)
    with iq.node.db.write() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.seq == seq))
        forged = merkle.leaf_hash(auditlog.leaf_data(event))
    sql(iq, "UPDATE audit_tree SET hash = :h WHERE level = 0 AND idx = :s", h=forged, s=seq)
    result = audit("audit", "verify", "--fingerprint", fp(iq))
    assert result.code == 1 and "FAILED at V5" in result.out


def test_verify_refuses_keys_that_are_not_the_fingerprints(audit):
    cluster = audit.cluster
    wrong = audit("audit", "verify", "--fingerprint", fp(cluster.sy))
    assert wrong.code == 1
    assert wrong.out == ""
    assert wrong.err == (
        f"liaison: the node's keys have the fingerprint {fp(cluster.iq)}, not the one you gave: "
        "they are not IQ's keys as you know them; nothing was verified\n"
    )
    env_wrong = audit("audit", "verify", env={"LIAISON_NODE_FINGERPRINT": fp(cluster.sy)})
    assert env_wrong.code == 1 and "not the one you gave" in env_wrong.err
    witness_wrong = audit(
        "audit",
        "verify",
        "--fingerprint",
        fp(cluster.iq),
        "--witness-fingerprint",
        f"SY={fp(cluster.iq)}",
    )
    assert witness_wrong.code == 1 and "witness SY's keys have the fingerprint" in witness_wrong.err
    typo = audit("audit", "verify", "--fingerprint", "12345 678")
    assert typo.code == 2 and "60 digits" in typo.err


def test_verify_without_a_fingerprint_warns_that_nothing_pins_the_keys(audit):
    result = audit("audit", "verify")
    assert result.code == 0, result.err
    assert "(NOT checked: give --fingerprint" in result.out
    assert "warning: IQ's keys were not checked against a fingerprint you know" in result.err


def test_verify_refuses_a_checkpoint_key_other_than_the_identity(audit, monkeypatch):
    """A node that serves a checkpoint key of its own beside the pinned identity is refused."""
    from clients.sdk import LiaisonClient
    from crypto.note import verifier_key
    from crypto.signing import SigningKey

    real = LiaisonClient.audit_keys

    def other_key(self):
        keys = real(self)
        other = SigningKey.generate().public.ed25519
        keys["checkpoint_key"] = verifier_key("liaison/IQ/audit", other)
        return keys

    monkeypatch.setattr(LiaisonClient, "audit_keys", other_key)
    result = audit("audit", "verify", "--fingerprint", fp(audit.cluster.iq))
    assert result.code == 1
    assert "checkpoint key is not the Ed25519 key of the identity" in result.err


def test_verify_warns_when_the_latest_checkpoint_is_not_cosigned(audit):
    signed = audit("audit", "checkpoint")
    assert signed.code == 0, signed.err
    size = log_size(audit.cluster.iq)
    assert field(signed.out, "Checkpoint") == f"size {size}"
    assert field(signed.out, "Cosigned by").startswith("nobody yet")
    assert "\n\nliaison/IQ/audit\n" in signed.out and "\u2014 liaison/IQ/audit " in signed.out
    checkpoint = json.loads(audit("audit", "checkpoint", "--json").out)  # the same, not a new one
    assert checkpoint["size"] == size and checkpoint["cosignatures"] == []
    result = audit("audit", "verify", "--fingerprint", fp(audit.cluster.iq))
    assert result.code == 0, result.err
    assert f"warning: the latest checkpoint (size {size}) is not cosigned by any partner" in (
        result.err
    )
    assert ": not cosigned" in result.out and ": cosigned by SY" in result.out
    witness_round(audit.cluster.sy)
    assert "not cosigned by any partner" not in audit("audit", "verify").err


def test_an_officer_cannot_verify(audit):
    audit.login("officer")
    result = audit("audit", "verify")
    assert result.code == 1 and "auditor" in result.err


# -- proofs --------------------------------------------------------------------------------------


@pytest.fixture
def proof_file(audit, tmp_path) -> Path:
    seq = first_seq(audit.cluster.iq, "report.submit")
    path = tmp_path / "proof.json"
    result = audit("audit", "proof", str(seq), "--out", str(path))
    assert result.code == 0, result.err
    assert f"wrote the proof of record {seq} in IQ's checkpoint of size" in result.out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path


def test_a_proof_checks_offline(audit, proof_file):
    proof = json.loads(proof_file.read_text())
    seq = proof["index"]
    result = audit("audit", "check-proof", str(proof_file), "--fingerprint", fp(audit.cluster.iq))
    assert result.code == 0, result.err
    assert field(result.out, "Record").startswith(f"{seq}: ")
    assert "report.submit" in field(result.out, "Record")
    assert field(result.out, "Cosigned by") == "SY"
    assert result.out.splitlines()[-1] == (
        f"verified: record {seq} is in IQ's audit log of size {proof['size']}"
    )
    assert result.err == ""
    printed = audit("audit", "proof", str(seq))
    assert json.loads(printed.out)["proof"] == proof["proof"]


def test_check_proof_needs_nothing_but_the_file(cli, proof_file, pinned):
    pinned.network.down.update({"iq.test", "sy.test"})
    result = cli("audit", "check-proof", str(proof_file), "--fingerprint", fp(pinned.iq))
    assert result.code == 0, result.err


def _edited(path: Path, edit) -> Path:
    proof = json.loads(path.read_text())
    edit(proof)
    out = path.with_name("edited.json")
    out.write_text(json.dumps(proof))
    return out


def test_check_proof_fails_on_a_flipped_proof_hash(audit, proof_file):
    def flip(proof):
        h = bytearray(b64u_decode(proof["proof"][0]))
        h[0] ^= 1
        proof["proof"][0] = b64u_encode(bytes(h))

    result = audit("audit", "check-proof", str(_edited(proof_file, flip)))
    assert result.code == 1
    assert result.err.splitlines()[0].startswith("liaison: P5: the inclusion proof does not verify")


def test_check_proof_fails_on_an_edited_record(audit, proof_file):
    def edit(proof):
        proof["record"]["reason"] = "nothing happened"

    result = audit("audit", "check-proof", str(_edited(proof_file, edit)))
    assert result.code == 1
    assert "P4: the record does not give the leaf hash the proof states" in result.err

    def edit_with_leaf(proof):
        from crypto.logverify import record_leaf

        proof["record"]["actor"] = "somebody else"
        proof["leaf_hash"] = b64u_encode(merkle.leaf_hash(record_leaf(proof["record"])))

    result = audit("audit", "check-proof", str(_edited(proof_file, edit_with_leaf)))
    assert result.code == 1 and "P5" in result.err


def test_check_proof_fails_on_another_nodes_keys_or_a_forged_cosignature(audit, proof_file):
    wrong = audit("audit", "check-proof", str(proof_file), "--fingerprint", fp(audit.cluster.sy))
    assert wrong.code == 1 and "not the one you gave" in wrong.err

    def forge(proof):
        line = proof["checkpoint"]["cosignatures"][0]["line"]
        proof["checkpoint"]["cosignatures"][0]["line"] = line[:-6] + "AAAA" + line[-2:]

    forged = audit("audit", "check-proof", str(_edited(proof_file, forge)))
    assert forged.code == 1 and "P3: SY's cosignature does not verify" in forged.err

    def resize(proof):
        proof["size"] += 1

    assert "P2" in audit("audit", "check-proof", str(_edited(proof_file, resize))).err


def test_a_proof_of_a_record_not_yet_checkpointed_is_refused(audit):
    result = audit("audit", "proof", str(log_size(audit.cluster.iq) + 5))
    assert result.code == 1 and "no audit record" in result.err


# -- export --------------------------------------------------------------------------------------


@pytest.fixture
def exported(audit, tmp_path) -> Path:
    out = tmp_path / "export"
    result = audit("audit", "export", "--out", str(out))
    assert result.code == 0, result.err
    return out


def test_export_writes_private_files_that_verify_offline(audit, exported, cli):
    iq = audit.cluster.iq
    assert stat.S_IMODE(exported.stat().st_mode) == 0o700
    names = sorted(p.name for p in exported.iterdir())
    assert names == ["README.txt", "checkpoints.json", "keys.json", "records.jsonl"]
    assert all(stat.S_IMODE((exported / n).stat().st_mode) == 0o600 for n in names)
    lines = (exported / "records.jsonl").read_text().splitlines()
    # Every record up to the export's own (its one page read is recorded after it was read).
    assert [json.loads(line)["seq"] for line in lines] == list(range(log_size(iq) - 1))
    last = json.loads(lines[-1])
    assert (last["action"], last["actor"]) == ("audit.export", "auditor")
    api = json.loads(audit("audit", "log", "--all", "--json").out)
    assert [json.loads(line) for line in lines] == api[: len(lines)]  # as the API gives them
    readme = (exported / "README.txt").read_text()
    assert f"liaison audit verify-export {exported} --fingerprint" in readme
    assert json.loads((exported / "keys.json").read_text())["node_id"] == "IQ"

    audit.cluster.network.down.update({"iq.test", "sy.test"})  # nothing but the files
    result = cli("audit", "verify-export", str(exported), "--fingerprint", fp(iq))
    assert result.code == 0, result.err
    assert field(result.out, "Records") == f"{len(lines)} verified"
    assert f"from the export in {exported}" in result.out and ": cosigned by SY" in result.out


def test_verify_export_names_a_record_edited_in_the_file(exported, cli, pinned):
    path = exported / "records.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[3])
    record["outcome"] = "allowed" if record["outcome"] != "allowed" else "denied"
    lines[3] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    result = cli("audit", "verify-export", str(exported), "--fingerprint", fp(pinned.iq))
    assert result.code == 1
    assert "FAILED at V2: record 3: the record does not match" in result.out


def test_verify_export_catches_a_shown_time_that_is_not_the_signed_one(exported, cli, pinned):
    path = exported / "records.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[2])
    record["at"] = "2001-09-11T08:46:00+00:00"  # at_us, which the leaf covers, left alone
    lines[2] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    result = cli("audit", "verify-export", str(exported), "--fingerprint", fp(pinned.iq))
    assert result.code == 1 and "FAILED at V2: record 2" in result.out


def test_verify_export_catches_a_removed_line_and_a_truncated_file(exported, cli, pinned):
    path = exported / "records.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:5] + lines[6:]) + "\n")
    removed = cli("audit", "verify-export", str(exported), "--fingerprint", fp(pinned.iq))
    assert removed.code == 1 and "FAILED at V1: record 5: records 5..5 are missing" in removed.out
    signed = json.loads((exported / "checkpoints.json").read_text())[-1]["size"]
    path.write_text("\n".join(lines[: signed - 1]) + "\n")
    truncated = cli("audit", "verify-export", str(exported), "--fingerprint", fp(pinned.iq))
    assert truncated.code == 1 and "FAILED at V4" in truncated.out and "truncated" in truncated.out


def test_verify_export_refuses_a_file_that_reads_two_ways(exported, cli, pinned):
    path = exported / "records.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = lines[1][:-1] + ', "outcome": "allowed"}'
    path.write_text("\n".join(lines) + "\n")
    result = cli("audit", "verify-export", str(exported), "--fingerprint", fp(pinned.iq))
    assert result.code == 1 and "line 2 is not JSON: a key appears twice" in result.err


def test_export_never_overwrites(audit, exported):
    again = audit("audit", "export", "--out", str(exported))
    assert again.code == 2 and "is not an empty directory" in again.err
    empty = exported.parent / "empty"
    empty.mkdir(mode=0o755)
    assert audit("audit", "export", "--out", str(empty)).code == 0
    assert stat.S_IMODE(empty.stat().st_mode) == 0o700


# -- alerts --------------------------------------------------------------------------------------


def _rewrite_history(node: twonode.TestNode) -> None:
    """The operator of ``node`` edits a record and rebuilds the tree from the records: on its own
    the log is consistent again, but not with what its witness cosigned."""
    sql(node, "UPDATE audit_events SET reason = 'rewritten' WHERE seq = 2")
    for table in ("audit_cosignatures", "audit_checkpoints", "audit_tree"):
        sql(node, f"DELETE FROM {table}")
    with node.node.db.write() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        tree = merkle.complete_subtrees([merkle.leaf_hash(auditlog.leaf_data(e)) for e in events])
    for (level, index), value in tree.items():
        sql(
            node,
            "INSERT INTO audit_tree (level, idx, hash) VALUES (:l, :i, :h)",
            l=level,
            i=index,
            h=value,
        )


def test_alerts_list_what_the_witness_caught(audit):
    sy = audit.cluster.sy
    audit.login("auditor", node=sy)
    assert audit("audit", "alerts", node=sy).out == "no alerts\n"
    _rewrite_history(audit.cluster.iq)
    witness_round(sy)
    listed = audit("audit", "alerts", node=sy)
    assert listed.code == 0, listed.err
    header, row, _ = listed.out.splitlines()
    assert header.split()[:4] == ["ID", "AT", "PARTNER", "KIND"]
    assert row.split()[3:5] == ["IQ", "fork"]
    [alert] = json.loads(audit("audit", "alerts", "--json", node=sy).out)
    assert alert["kind"] == "fork" and "liaison/IQ/audit" in alert["evidence"]


# -- reconciliation ------------------------------------------------------------------------------


def test_reconcile_matches_what_was_sent_with_what_was_received(audit):
    result = audit("audit", "reconcile", "--partner", "SY")
    assert result.code == 0, result.err
    assert field(result.out, "Sent") == "1 matched, 0 pending"
    assert field(result.out, "Received") == "0 matched, 0 pending"
    assert field(result.out, "Discrepancies") == "none"
    answer = json.loads(audit("audit", "reconcile", "--partner", "SY", "--json").out)
    assert answer["sent"] == {"matched": 1, "pending": 0} and answer["discrepancies"] == []


def test_reconcile_lists_a_message_the_partner_lost_and_exits_1(audit):
    sy = audit.cluster.sy
    sql(sy, "DELETE FROM inbound_objects")
    sql(sy, "DELETE FROM inbound")  # SY's copy is gone; IQ holds SY's receipt for it
    result = audit("audit", "reconcile", "--partner", "SY")
    assert result.code == 1
    assert field(result.out, "Discrepancies") == "1"
    header, row = result.out.splitlines()[-2:]
    assert header.split()[:4] == ["DIRECTION", "MESSAGE", "SEQ", "KIND"]
    assert row.split()[0] == "sent" and row.split()[2:4] == ["1", "receipt_but_not_received"]
    assert result.err == "liaison: 1 discrepancy with SY\n"
    as_json = audit("audit", "reconcile", "--partner", "SY", "--json")
    assert as_json.code == 1
    [d] = json.loads(as_json.out)["discrepancies"]
    assert (d["direction"], d["kind"], d["seq"]) == ("sent", "receipt_but_not_received", 1)


def test_reconcile_with_an_unknown_partner_is_refused(audit):
    result = audit("audit", "reconcile", "--partner", "JO")
    assert result.code == 1 and result.out == ""


def test_verify_after_a_new_identity_counts_the_old_keys_checkpoints(audit):
    """IQ's key file was copied: it takes a new identity (its checkpoints so far are signed by
    the old key, and cosigned by SY), and the auditor verifies against the new
    fingerprint. The old checkpoints still verify, under the old key the node now lists, and
    SY's cosignatures of them still count."""
    from service.keyfile import new_identity
    from tests.twonode import FAST_KDF, PASSPHRASE, restart

    iq = audit.cluster.iq
    old_fp = fp(iq)
    before = audit("audit", "verify", "--fingerprint", old_fp, "--json")
    assert json.loads(before.out)["ok"]
    done = new_identity(iq.node.settings, PASSPHRASE, now=int(iq.node.now()), kdf=FAST_KDF)
    restart(iq)
    assert fp(iq) == done.fingerprint != old_fp
    audit.login("auditor")  # the new token key ended the old session
    result = audit("audit", "verify", "--fingerprint", done.fingerprint, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["ok"] and report["checkpoints"]
    assert any(c["cosigned_by"] == ["SY"] for c in report["checkpoints"])
    # The old fingerprint is no longer the node's.
    stale = audit("audit", "verify", "--fingerprint", old_fp)
    assert stale.code != 0 and "not the one you gave" in stale.err

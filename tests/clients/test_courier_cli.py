"""``liaison courier``: envelopes out to a file on one node, in on the other, receipts back."""

from __future__ import annotations

import asyncio
import json
import stat

import pytest
from sqlalchemy import select

from crypto.encoding import b64u_decode, b64u_encode
from service.models import Delivery, Inbound
from tests.twonode import PASSWORD, REPORTS


@pytest.fixture
def admins(cli, pinned):
    """``run(node, *argv)``: the CLI as the admin of ``pinned.iq`` or ``pinned.sy``."""

    def run(node, *argv: str, **kw):
        kw.setdefault("transport", pinned.transport)
        return cli(*argv, env={"LIAISON_URL": node.url, **kw.pop("env", {})}, **kw)

    for node in (pinned.iq, pinned.sy):
        assert run(node, "login", "admin", env={"LIAISON_PASSWORD": PASSWORD}).code == 0
    return run


def _submit(node, count: int) -> None:
    async def go() -> None:
        officer = await node.login("officer")
        async with node.client() as c:
            for n in range(count):
                bundle = json.loads((REPORTS / "iq-cell-wadi7.json").read_text())
                bundle["id"] = f"bundle--6f0d1c9e-0000-4000-8000-{n:012d}"
                headers = {**officer, "content-type": "application/stix+json"}
                r = await c.post("/api/v1/reports", params={"to": "SY"},
                                 content=json.dumps(bundle).encode(), headers=headers)  # fmt: skip
                assert r.status_code == 201, r.text

    asyncio.run(go())


def _states(node) -> set[tuple[str, str | None]]:
    with node.node.db.write() as s:
        return {(d.state, d.acknowledged_via) for d in s.scalars(select(Delivery))}


def _inbound(node) -> int:
    with node.node.db.write() as s:
        return len(list(s.scalars(select(Inbound.id))))


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_export_import_and_receipts_back(admins, pinned, tmp_path):
    iq, sy = pinned.iq, pinned.sy
    _submit(iq, 2)
    out = tmp_path / "to-sy.json"

    exported = admins(iq, "courier", "export", "--partner", "SY", "--out", str(out))
    assert exported.code == 0, exported.err
    assert exported.out == f"wrote 2 envelopes for SY to {out} (void seqs: none)\n"
    assert _mode(out) == 0o600
    assert json.loads(out.read_bytes())["type"] == "liaison.courier.envelopes"
    assert _states(iq) == {("sent", None)}

    imported = admins(sy, "courier", "import", str(out))
    assert imported.code == 0, imported.err
    receipts = tmp_path / "to-sy.json.receipts.json"
    assert imported.out == (
        f"imported from IQ: 2 received, 0 duplicates, 0 refused; receipts for IQ in {receipts}\n"
    )
    assert _mode(receipts) == 0o600 and _inbound(sy) == 2

    back = admins(iq, "courier", "import", str(receipts))
    assert (back.code, back.out) == (0, "receipts from SY: 2 accepted, 0 unknown, 0 invalid\n")
    assert _states(iq) == {("acknowledged", "courier")}


def test_json_output_and_a_chosen_receipts_file(admins, pinned, tmp_path):
    iq, sy = pinned.iq, pinned.sy
    _submit(iq, 1)
    out, receipts = tmp_path / "out.json", tmp_path / "back.json"
    summary = admins(iq, "courier", "export", "--partner", "SY", "--out", str(out), "--json")
    assert summary.code == 0, summary.err
    assert json.loads(summary.out) == {
        "partner": "SY", "file": str(out), "bytes": out.stat().st_size,
        "envelopes": 1, "void": [], "more": False,
    }  # fmt: skip
    result = admins(sy, "courier", "import", str(out), "--receipts-out", str(receipts), "--json")
    answer = json.loads(result.out)
    assert answer["kind"] == "envelopes" and answer["received"] == 1
    assert answer["receipts_out"] == str(receipts) and "receipts_file" not in answer
    assert json.loads(receipts.read_bytes())["type"] == "liaison.courier.receipts"
    # Importing the same file again: a duplicate, not a refusal.
    again = admins(sy, "courier", "import", str(out), "--receipts-out", str(receipts))
    assert again.code == 0 and "0 received, 1 duplicates, 0 refused" in again.out
    assert _inbound(sy) == 1


def test_a_refused_envelope_exits_1_with_one_line_each(admins, pinned, tmp_path):
    iq, sy = pinned.iq, pinned.sy
    _submit(iq, 2)
    out = tmp_path / "to-sy.json"
    assert admins(iq, "courier", "export", "--partner", "SY", "--out", str(out)).code == 0
    document = json.loads(out.read_bytes())
    envelope = bytearray(b64u_decode(document["envelopes"][0]))
    envelope[-1] ^= 0x01
    document["envelopes"][0] = b64u_encode(bytes(envelope))
    out.write_text(json.dumps(document))

    result = admins(sy, "courier", "import", str(out))
    assert result.code == 1
    assert "1 received, 0 duplicates, 1 refused" in result.out
    assert result.err == (
        "liaison: envelope 0 refused: rejected (decryption_failed); the audit log has the details\n"
    )
    receipts = json.loads((tmp_path / "to-sy.json.receipts.json").read_bytes())
    assert len(receipts["receipts"]) == 1  # the accepted one still travels back


def test_invalid_receipts_exit_1(admins, pinned, tmp_path):
    iq = pinned.iq
    _submit(iq, 1)
    out = tmp_path / "to-sy.json"
    assert admins(iq, "courier", "export", "--partner", "SY", "--out", str(out)).code == 0
    bogus = tmp_path / "receipts.json"
    bogus.write_text(json.dumps({"type": "liaison.courier.receipts", "version": 1, "from": "SY",
                                 "to": "IQ", "created": 0, "receipts": ["e30"]}))  # fmt: skip
    result = admins(iq, "courier", "import", str(bogus))
    assert (result.code, result.out) == (1, "receipts from SY: 0 accepted, 0 unknown, 1 invalid\n")
    assert result.err == (
        "liaison: 1 receipt did not verify (the node's audit log has the reasons)\n"
    )
    assert _states(iq) == {("sent", None)}


def test_a_file_for_another_node_exits_1(admins, pinned, tmp_path):
    _submit(pinned.iq, 1)
    out = tmp_path / "to-sy.json"
    assert admins(pinned.iq, "courier", "export", "--partner", "SY", "--out", str(out)).code == 0
    result = admins(pinned.iq, "courier", "import", str(out))
    assert (result.code, result.err) == (
        1, "liaison: this courier file is addressed to 'SY', not to this node IQ\n"
    )  # fmt: skip
    assert not (tmp_path / "to-sy.json.receipts.json").exists()


def test_courier_needs_an_admin_and_a_login(cli, pinned, tmp_path):
    env = {"LIAISON_URL": pinned.iq.url}
    out = tmp_path / "out.json"
    argv = ("courier", "export", "--partner", "SY", "--out", str(out))
    result = cli(*argv, env=env, transport=pinned.transport)
    assert result.code == 3 and "not logged in" in result.err
    login = cli("login", "officer", env={**env, "LIAISON_PASSWORD": PASSWORD},
                transport=pinned.transport)  # fmt: skip
    assert login.code == 0
    result = cli(*argv, env=env, transport=pinned.transport)
    assert (result.code, result.err) == (1, "liaison: this action needs the admin role\n")
    assert not out.exists()


def test_usage_and_file_errors(admins, pinned, tmp_path):
    assert admins(pinned.iq, "courier", "export", "--out", "x").code == 2  # no --partner
    missing = admins(pinned.sy, "courier", "import", str(tmp_path / "absent.json"))
    assert missing.code == 1 and "No such file or directory" in missing.err
    unknown = admins(pinned.iq, "courier", "export", "--partner", "LB", "--out", "x")
    assert (unknown.code, unknown.err) == (1, "liaison: no partner 'LB'\n")

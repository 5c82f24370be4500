"""The auditor's pages: the log with its filters and cursor, one record with its inclusion proof,
the proof file that ``liaison audit check-proof`` accepts offline, the node's verification of
the whole log (and a tampered one failing), checkpoints with the partner's cosignatures, alerts
and reconciling; who is refused each page, CSRF, hostile text, both languages and headers.

Each case runs two real nodes (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import re
from html import unescape

import pytest
from sqlalchemy import select

from clients import auditcheck, auditexport
from clients.cli import main as liaison
from crypto.fingerprint import fingerprint
from service.audit import checkpoints, raise_alert
from service.console.pages import auditor as pages
from service.console.security import CSP
from service.exchange import witness_all
from service.models import AuditEvent, ConsoleSession, Inbound, User
from tests.service.console.conftest import Browser
from tests.service.test_audit_log import sql
from tests.service.test_enforcement import amber_report, call, events, submit
from tests.twonode import PASSWORD

pytestmark = pytest.mark.anyio

AUDITOR_PAGES = ("/console/audit", "/console/audit/0", "/console/audit/0/proof",
                 "/console/audit/reconcile")  # fmt: skip
"""Pages of the API's ``Auditor`` routes: auditors only."""
INTEGRITY_PAGES = ("/console/audit/verify", "/console/audit/checkpoints", "/console/audit/alerts")
"""Pages of the API's ``AuditorOrAdmin`` routes."""
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\u202eevil"


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def log_in(b: Browser, username: str) -> None:
    await b.get("/console/login")
    r = await b.post("/console/login", {"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text


async def activity(iq, sy) -> None:
    """Reports both ways, delivered, a checkpoint of IQ's log cosigned by SY."""
    for _ in range(2):
        assert (await submit(iq, amber_report())).status_code == 201
    assert (await submit(sy, amber_report(), to=("IQ",))).status_code == 201
    await iq.deliver()
    await sy.deliver()
    await witness_all(sy.node)  # SY witnesses IQ: asks for a checkpoint, cosigns it


def seq_of(node, action: str) -> int:
    with node.node.db.read() as s:
        seq = s.scalar(
            select(AuditEvent.seq).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    assert seq is not None
    return int(seq)


def log_links(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/console/audit/(\d+)"', html)]


async def test_the_log_lists_records_with_links_and_filters(pinned):
    iq, sy = pinned
    await activity(iq, sy)
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        r = await b.get("/console/audit")
        assert r.status_code == 200
        seqs = log_links(r.text)
        assert seqs[:3] == [0, 1, 2] and seqs == sorted(seqs)
        assert "report.submit" in r.text
        [read] = events(iq, "audit.read")
        assert read.actor == "auditor"  # reading the log is recorded, as in the API

        r = await b.get("/console/audit?action=release.*")
        actions = set(re.findall(r'<span class="mono" dir="ltr"><bdi dir="auto">(release\.\w+)',
                                 r.text))  # fmt: skip
        assert actions == {"release.allow"}
        r = await b.get("/console/audit?action=release")  # exact: no such action
        assert "No record matches." in r.text
        r = await b.get("/console/audit?actor=officer&action=report.submit")
        assert len(log_links(r.text)) == 2
        r = await b.get("/console/audit?outcome=denied")
        assert "No record matches." in r.text
        r = await b.get("/console/audit?object_id=SY&action=partner.add")
        assert len(log_links(r.text)) == 1

        with iq.node.db.read() as s:
            first = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == 0))
        later = first.replace(year=first.year + 1).strftime("%Y-%m-%dT%H:%M:%S")
        r = await b.get(f"/console/audit?since={later}")
        assert "No record matches." in r.text
        r = await b.get(f"/console/audit?until={later}")
        assert log_links(r.text)[:1] == [0]
        r = await b.get("/console/audit?since=yesterday")
        assert r.status_code == 200 and 'class="field-error"' in r.text
        assert "Not a time" in r.text and log_links(r.text) == []
    wanted = [e.reason for e in events(iq, "audit.read")]
    assert any("action=release.*" in (reason or "") for reason in wanted)


async def test_the_log_pages_forward_by_cursor_and_back(pinned, monkeypatch):
    iq, sy = pinned
    await activity(iq, sy)
    monkeypatch.setattr(pages, "PAGE", 5)
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        r = await b.get("/console/audit")
        assert log_links(r.text) == [0, 1, 2, 3, 4] and "Previous page" not in r.text
        [following] = re.findall(r'href="([^"]*after_seq=4[^"]*)"', r.text)
        r = await b.get(unescape(following))
        assert log_links(r.text) == [5, 6, 7, 8, 9]
        [following] = re.findall(r'href="([^"]*after_seq=9[^"]*)"', r.text)
        r = await b.get(unescape(following))
        assert log_links(r.text)[0] == 10
        [back] = re.findall(r'href="([^"]*)">Previous page', r.text)
        r = await b.get(unescape(back))
        assert log_links(r.text) == [5, 6, 7, 8, 9]
        [back] = re.findall(r'href="([^"]*)">Previous page', r.text)
        r = await b.get(unescape(back))
        assert log_links(r.text) == [0, 1, 2, 3, 4]


async def test_a_record_with_its_proof_and_the_file_check_proof_accepts(
    pinned, tmp_path, monkeypatch, capsys
):
    iq, sy = pinned
    await activity(iq, sy)
    seq = seq_of(iq, "report.submit")
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        r = await b.get(f"/console/audit/{seq}")
        assert r.status_code == 200
        page = text_of(r.text)
        assert "report.submit" in page and "Inclusion proof" in page
        assert fingerprint(iq.node.identity.signing.public) in page
        assert re.search(r"Cosigned by\s+SY", page)
        assert f'href="/console/audit/{seq}/proof"' in r.text

        r = await b.get(f"/console/audit/{seq}/proof")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.headers["content-disposition"] == (
            f'attachment; filename="liaison-audit-proof-IQ-{seq}.json"'
        )
        assert r.headers["cache-control"] == "no-store"
        downloaded = r.content
    # Exactly the file `liaison audit proof SEQ --out FILE` writes from the API's answer.
    api = await call(iq, "GET", f"/api/v1/audit/proof/{seq}", "auditor")
    cli_file = json.dumps(api.json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert downloaded == cli_file.encode("utf-8")
    # The offline checker the CLI uses accepts it, against the fingerprint known out of band.
    known = fingerprint(iq.node.identity.signing.public)
    unverified = auditexport.strict_loads(downloaded.decode("utf-8"))
    keys, proof = auditcheck.check_proof(unverified, fingerprint=known)
    assert keys.pinned and proof.seq == seq and proof.cosigned_by == ("SY",)
    # And so does `liaison audit check-proof FILE`, with the network gone.
    path = tmp_path / "proof.json"
    path.write_bytes(downloaded)
    for name in [n for n in os.environ if n.startswith("LIAISON_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    iq.network.down.update({iq.host, sy.host})
    capsys.readouterr()
    assert liaison(["audit", "check-proof", str(path), "--fingerprint", known]) == 0
    assert f"verified: record {seq} is in IQ's audit log" in capsys.readouterr().out
    proofs = events(iq, "audit.proof")
    assert len(proofs) == 3 and {e.object_id for e in proofs} == {str(seq)}


async def test_a_tampered_proof_file_fails_the_offline_check(pinned):
    iq, sy = pinned
    await activity(iq, sy)
    seq = seq_of(iq, "report.submit")
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        r = await b.get(f"/console/audit/{seq}/proof")
    unverified = json.loads(r.content)
    unverified["record"]["action"] = "report.read"
    with pytest.raises(auditcheck.VerificationFailed):
        auditcheck.check_proof(unverified, fingerprint=fingerprint(iq.node.identity.signing.public))


async def test_a_record_no_checkpoint_covers_yet_is_shown_without_a_proof(pinned):
    iq, _ = pinned
    checkpoints.sign(iq.node)
    assert (await submit(iq, amber_report())).status_code == 201
    seq = seq_of(iq, "report.submit")
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        r = await b.get(f"/console/audit/{seq}")
        assert r.status_code == 200 and "report.submit" in r.text
        assert "No signed checkpoint covers this record yet" in r.text
        assert "/proof" not in r.text
        r = await b.get(f"/console/audit/{seq}/proof")
        assert r.status_code == 404
        r = await b.get("/console/audit/999999")
        assert r.status_code == 404
        r = await b.get(f"/console/audit/{2**64}")  # refused before the database sees it
        assert r.status_code == 422


async def test_the_node_verifies_its_whole_log_and_shows_the_run(pinned):
    iq, sy = pinned
    await activity(iq, sy)
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        r = await b.get("/console/audit/verify")
        assert r.status_code == 200 and "Verify now" in r.text
        assert events(iq, "audit.verify") == []  # opening the page verifies nothing
        r = await b.post("/console/audit/verify")
        assert r.status_code == 200
        page = text_of(r.text)
        assert "The log verifies" in page and "THE LOG DOES NOT VERIFY" not in page
        assert re.search(r"Records checked \(the tree's size\) \d+", page)
        assert re.search(r"Took \d+\.\d{3} s", page)
        assert re.search(r"Size the latest checkpoint signs \d+", page)
        assert "SY" in r.text.split("Checkpoints and their cosignatures", 1)[1]
    [run] = events(iq, "audit.verify")
    assert run.outcome == "allowed" and run.actor == "auditor"


async def test_a_tampered_log_fails_verification_prominently(pinned):
    iq, sy = pinned
    await activity(iq, sy)
    seq = seq_of(iq, "report.submit")
    sql(iq, "UPDATE audit_events SET reason = 'nothing happened' WHERE seq = :s", s=seq)
    async with Browser(iq) as b:
        await log_in(b, "admin")  # the log's integrity is the administrator's concern too
        r = await b.get("/console/audit/verify")
        r = await b.post("/console/audit/verify")
        assert r.status_code == 200
        alert = r.text.split('class="error" role="alert"', 1)[1].split("</div>", 1)[0]
        assert "THE LOG DOES NOT VERIFY" in alert and "V2" in alert
        assert f'href="/console/audit/{seq}"' in alert
    [run] = events(iq, "audit.verify")
    assert run.outcome == "error"


async def test_checkpoints_with_the_partners_cosignatures(pinned, monkeypatch):
    iq, sy = pinned
    await activity(iq, sy)
    for username in ("auditor", "admin"):
        async with Browser(iq) as b:
            await log_in(b, username)
            r = await b.get("/console/audit/checkpoints")
            assert r.status_code == 200
            page = text_of(r.text)
            assert "The latest checkpoint" in page and re.search(r"Cosigned by\s+SY", page)
            assert "liaison/SY/witness" in r.text  # the cosignature line, and the note
            assert "— liaison/IQ/audit" in unescape(r.text)
    assert (await submit(iq, amber_report())).status_code == 201
    checkpoints.sign(iq.node)
    monkeypatch.setattr(pages, "CHECKPOINT_PAGE", 1)
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        r = await b.get("/console/audit/checkpoints")
        assert r.text.count("Checkpoint of size") == 1 and "Next page" in r.text
        [following] = re.findall(r'href="([^"]*after_size=[^"]*)">Next page', r.text)
        r = await b.get(unescape(following))
        assert r.text.count("Checkpoint of size") == 1 and "Previous page" in r.text


async def test_alerts_are_shown_with_their_evidence_as_text(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        r = await b.get("/console/audit/alerts")
        assert r.status_code == 200 and "No alert has been raised." in r.text
        with iq.node.db.write() as s:
            raise_alert(s, at=iq.node.utcnow(), subject="SY", kind="fork",
                        detail=f"two checkpoints of size 9: {HOSTILE}",
                        evidence=f"liaison/SY/audit\n9\n{HOSTILE}\n")  # fmt: skip
        r = await b.get("/console/audit/alerts")
        assert "forked" in r.text and "in the log of SY" in r.text
        assert "<script>alert" not in r.text and "<img src=x" not in r.text
        assert "&lt;script&gt;" in r.text
        assert "\u202e" not in r.text and "[U+202E]evil" in r.text


async def test_reconciling_with_the_partner_shows_the_outcome(pinned):
    iq, sy = pinned
    await activity(iq, sy)
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        r = await b.get("/console/audit/reconcile")
        assert r.status_code == 200 and '<option value="SY">' in r.text
        token = b.csrf
        r = await b.post("/console/audit/reconcile", {"partner": "SY"})
        assert r.status_code == 200
        page = text_of(r.text)
        assert "Everything matches" in page
        assert re.search(r"Sent to SY 2 0", page) and re.search(r"Received from SY 1 0", page)
        sy.network.down.add(sy.host)
        r = await b.post("/console/audit/reconcile", {"partner": "SY"})
        assert r.status_code == 502 and "The partner did not answer" in r.text
        r = await b.post("/console/audit/reconcile", {"partner": "JO", "csrf": token})
        assert r.status_code == 404
    [done] = [e for e in events(iq, "audit.reconcile") if e.actor == "auditor"]
    assert done.outcome == "allowed" and done.object_id == "SY"


async def test_a_discrepancy_is_listed(pinned):
    iq, sy = pinned
    await activity(iq, sy)
    with sy.node.db.read() as s:
        lost = s.scalars(select(Inbound).order_by(Inbound.seq)).first()
        lost_id, message_id = lost.id, lost.message_id
    sql(sy, "DELETE FROM inbound_objects WHERE inbound_id = :i", i=lost_id)
    sql(sy, "DELETE FROM inbound WHERE id = :i", i=lost_id)
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        await b.get("/console/audit/reconcile")
        r = await b.post("/console/audit/reconcile", {"partner": "SY"})
        assert r.status_code == 200
        assert "1 discrepancies found." in r.text and message_id in r.text
        assert "the partner signed a receipt but does not list it" in r.text


@pytest.mark.parametrize("username", ["officer", "releaser"])
async def test_officers_are_refused_every_audit_page(pinned, username):
    iq, _ = pinned
    iq.add_user("releaser", "releaser")
    async with Browser(iq) as b:
        await log_in(b, username)
        for path in (*AUDITOR_PAGES, *INTEGRITY_PAGES):
            r = await b.get(path)
            assert r.status_code == 403, path
            assert "Your role does not allow" in r.text
        csrf = session_csrf(iq, username)
        for path in ("/console/audit/verify", "/console/audit/reconcile"):
            r = await b.post(path, {"csrf": csrf, "partner": "SY"})
            assert r.status_code == 403
    refusals = events(iq, "auth.role")
    assert len(refusals) == len(AUDITOR_PAGES) + len(INTEGRITY_PAGES) + 2
    assert {e.actor for e in refusals} == {username}
    assert events(iq, "audit.verify") == [] and events(iq, "audit.read") == []


def session_csrf(node, username: str) -> str:
    with node.node.db.read() as s:
        return s.scalar(
            select(ConsoleSession.csrf_token).join(User).where(User.username == username)
        )


async def test_an_administrator_sees_the_integrity_pages_but_not_the_log(pinned):
    iq, sy = pinned
    await activity(iq, sy)
    async with Browser(iq) as b:
        await log_in(b, "admin")
        for path in INTEGRITY_PAGES:
            assert (await b.get(path)).status_code == 200, path
        for path in AUDITOR_PAGES:
            assert (await b.get(path)).status_code == 403, path
    assert len(events(iq, "auth.role")) == len(AUDITOR_PAGES)


async def test_the_forms_need_the_csrf_token(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        await b.get("/console/audit/verify")
        token = b.csrf
        for path in ("/console/audit/verify", "/console/audit/reconcile"):
            assert (await b.post(path, {"partner": "SY"}, csrf=False)).status_code == 403
            r = await b.post(path, {"partner": "SY", "csrf": token},
                             headers={"Origin": "https://attacker.example"})  # fmt: skip
            assert r.status_code == 403
    assert len(events(iq, "console.csrf")) == 2 and len(events(iq, "console.cross_site")) == 2
    assert events(iq, "audit.verify") == [] and events(iq, "audit.reconcile") == []


async def test_the_pages_in_arabic_with_the_security_headers(pinned):
    iq, sy = pinned
    await activity(iq, sy)
    seq = seq_of(iq, "report.submit")
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        await b.get("/console/audit")
        r = await b.post("/console/language", {"language": "ar", "next": "/console/audit"})
        assert r.status_code == 303
        for path, arabic in (
            ("/console/audit", "سجل التدقيق"),
            (f"/console/audit/{seq}", "إثبات التضمين"),
            ("/console/audit/verify", "التحقق من السجل بكامله"),
            ("/console/audit/checkpoints", "نقاط التحقق الموقَّعة"),
            ("/console/audit/alerts", "تنبيهات بشأن سجلات التدقيق"),
            ("/console/audit/reconcile", "المطابقة مع شريك"),
        ):
            r = await b.get(path)
            assert r.status_code == 200, path
            assert '<html lang="ar" dir="rtl">' in r.text and arabic in r.text, path
            assert r.headers["cache-control"] == "no-store"
            assert r.headers["content-security-policy"] == CSP
        r = await b.post("/console/audit/verify")
        assert "السجل سليم" in r.text and '<html lang="ar" dir="rtl">' in r.text
        r = await b.post("/console/audit/reconcile", {"partner": "SY"})
        assert "كل شيء متطابق" in r.text

"""Two liaison nodes, end to end, run the way their operators and officers would run them.

``make demo`` runs this: it creates IQ (Baghdad) and SY (Damascus) in fresh temporary data dirs,
starts two real ``liaison serve`` processes on free loopback ports, has the administrators pin
each other by fingerprint and create accounts, has an officer on each side submit a fictional
report for the other, waits for delivery and signed receipts, lets the partner officers read
what arrived, and prints a summary with the web console's address on each node and the demo
accounts to log in with. The nodes run the reference sharing policies of
``policies/examples``: a TLP:RED report is refused, and an AMBER+STRICT report naming a source
waits for a second officer with the releaser role, then leaves with the source removed. Every
step is a ``liaison`` command in a subprocess, exactly as typed at a terminal. All names, places
and reports are fictional.

Options: ``--keep`` leaves both nodes running at the end, until Ctrl-C, so that a person can
look at their consoles (``make demo KEEP=1``), then keeps their data dirs and server logs;
``--quiet`` prints only the consoles and the summary.

The consoles' session cookies are ``Secure``: browsers send them to ``http://127.0.0.1`` and
``http://localhost``, which count as secure contexts, but keep cookies per host name, not per
port. So IQ's console is given as ``http://127.0.0.1:PORT/console/`` and SY's as
``http://localhost:PORT/console/``: one browser stays logged in to both side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from taxii2client.v21 import Server, as_pages

REPORTS = Path(__file__).resolve().parent / "reports"
# An OpenCTI export (TLP 1.0 markings, an unmarked author) that IQ's platform posts over TAXII.
DRAFT = REPORTS.parent / "imports" / "iq-opencti-courier-net.json"
PAGE = 2  # objects per TAXII request in the demo, so that paging shows
POLICIES = Path(__file__).resolve().parents[1] / "policies" / "examples"
# What IQ's policy towards SY removes from the AMBER+STRICT report (checked on SY's copy).
REDACTED = ("HAWK-3", "x_source_", "x_liaison_internal", "note--", "fictional handler")
PASSPHRASE = "demo-only passphrase, never use outside the demo"
PASSWORD = "demo-only password 4 officers"
TIMEOUT = 45.0
# The demo's accounts, the same on both nodes, all with the password PASSWORD.
ACCOUNTS = (
    ("duty-officer", "officer"),
    ("desk-chief", "releaser"),
    ("auditor", "auditor"),
    ("node-admin", "admin"),
)
# The host name each node's console is opened by (see the module docstring).
CONSOLE_HOSTS = {"IQ": "127.0.0.1", "SY": "localhost"}


class DemoFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveNode:
    node_id: str
    city: str
    root: Path
    port: int = field(default_factory=free_port)
    taxii_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / self.node_id.lower()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def taxii_url(self) -> str:
        """TAXII 2.1 discovery, on the node's second listener (for the home platforms)."""
        return f"http://127.0.0.1:{self.taxii_port}/taxii2/"

    @property
    def console_url(self) -> str:
        """The console in a browser: ``<public_url>/console/``, by a host name of its own."""
        host = CONSOLE_HOSTS.get(self.node_id, "127.0.0.1")
        return f"http://{host}:{self.port}/console/"

    def env(self, user: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIAISON_")}
        env.update(
            LIAISON_PASSPHRASE=PASSPHRASE,
            LIAISON_PASSWORD=PASSWORD,
            LIAISON_URL=self.url,
            LIAISON_TOKEN_FILE=str(self.root / f"token-{self.node_id}-{user or 'none'}"),
            # Witness the partner's log every 3 s rather than every minute, for a short demo.
            LIAISON_WITNESS_INTERVAL_SECONDS="3",
            LIAISON_TAXII_LISTEN_PORT=str(self.taxii_port),
        )
        return env

    def cli(self, *args: str, user: str | None = None, refused_ok: bool = False) -> str:
        """Run ``liaison ARGS`` as this node's operator or officer; return its output (with
        ``refused_ok``, a refusal, exit 1, returns its error output instead of failing)."""
        command = [sys.executable, "-m", "clients", *args]
        done = subprocess.run(
            command, env=self.env(user), capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0 and not (refused_ok and done.returncode == 1):
            raise DemoFailed(
                f"liaison {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}"
            )
        if refused_ok and done.returncode == 0:
            raise DemoFailed(f"liaison {' '.join(args)} was expected to be refused")
        return done.stderr if refused_ok else done.stdout

    def cli_json(self, *args: str, user: str | None = None) -> object:
        return json.loads(self.cli(*args, "--json", user=user))

    def init(self) -> None:
        self.cli("node", "init", "--name", self.node_id, "--display-name", self.city,
                 "--data-dir", str(self.data_dir), "--port", str(self.port),
                 "--policies", str(POLICIES / self.node_id))  # fmt: skip

    def fingerprint(self) -> str:
        return self.cli("node", "fingerprint", "--data-dir", str(self.data_dir)).strip()

    def start(self) -> None:
        log = (self.root / f"{self.node_id.lower()}-serve.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clients", "serve", "--data-dir", str(self.data_dir)],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            # Out of the terminal's process group: Ctrl-C reaches the demo, which stops the
            # servers itself (SIGTERM, a clean exit), rather than the servers directly.
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise DemoFailed(f"{self.node_id} server exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise DemoFailed(f"{self.node_id} did not start within {TIMEOUT:.0f} s")

    def wait_stopped(self) -> int | None:
        """Wait for a server already sent SIGTERM to exit (killed after 20 s)."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def stop_all(nodes: Sequence[LiveNode]) -> dict[str, int | None]:
    """Stop every node: SIGTERM to all first, then wait for each. A second Ctrl-C while waiting
    kills whatever is still running before it ends the demo, so no server is left behind."""
    for node in nodes:
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
    try:  # wait, without signalling again: a second SIGTERM would cut a graceful stop short
        return {node.node_id: node.wait_stopped() for node in nodes}
    except KeyboardInterrupt:
        for node in nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()
                node.process.wait()
        raise


def wait_acknowledged(node: LiveNode, report_id: str, user: str) -> dict[str, object]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        report = node.cli_json("report", "show", report_id, user=user)
        assert isinstance(report, dict)
        states = {d["partner"]: d["state"] for d in report["deliveries"]}
        if all(state == "acknowledged" for state in states.values()):
            return report
        if any(state == "refused" for state in states.values()):
            raise DemoFailed(f"report {report_id} was refused: {report['deliveries']}")
        time.sleep(0.2)
    raise DemoFailed(f"report {report_id} was not acknowledged within {TIMEOUT:.0f} s")


def wait_cosigned(node: LiveNode, partner: LiveNode, fingerprint: str) -> dict[str, Any]:
    """Poll ``liaison audit verify`` until the latest checkpoint carries the partner's
    cosignature (the partner witnesses on its own schedule, every witness_interval_seconds)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        report = node.cli_json("audit", "verify", "--fingerprint", fingerprint, user="auditor")
        assert isinstance(report, dict)
        if not report["ok"]:
            raise DemoFailed(f"{node.node_id}'s audit log does not verify: {report['failure']}")
        latest = report["checkpoints"][-1] if report["checkpoints"] else None
        if latest and partner.node_id in latest["cosigned_by"]:
            return report
        time.sleep(1.0)
    raise DemoFailed(f"{partner.node_id} did not cosign {node.node_id}'s checkpoint in time")


def red_variant(text: str) -> str:
    """The AMBER demo report relabelled TLP:RED (the TLP 2.0 RED definition's id and value)."""
    return (
        text.replace("55d920b0-5e8b-4f79-9ee9-91f868d9b421", "e828b379-4e03-4974-9ac4-e53a884c97c1")
        .replace('"tlp_2_0": "amber"', '"tlp_2_0": "red"')
        .replace('"TLP:AMBER"', '"TLP:RED"')
    )


Hold = Callable[[Sequence[LiveNode], dict[str, Any]], None]


def run(root: Path, say: object = print, *, hold: Hold | None = None) -> dict[str, Any]:
    """Run the whole story under ``root``; returns the summary figures. ``hold``, if given, is
    called with the nodes still running and the summary so far, before they are stopped."""
    started = time.monotonic()
    out = say if callable(say) else print
    iq, sy = LiveNode("IQ", "Baghdad", root), LiveNode("SY", "Damascus", root)
    nodes = (iq, sy)
    try:
        out("== Two liaison nodes are set up ==")
        for node in nodes:
            node.init()
            out(f"[{node.node_id}] node created in {node.city}: keys, configuration, database "
                f"and the reference sharing policy towards its partner")  # fmt: skip
        prints = {node.node_id: node.fingerprint() for node in nodes}
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_ready()
            out(f"[{node.node_id}] serving at {node.url}")
        out("")
        out("== The administrators read their fingerprints to each other over the phone ==")
        for here, there in ((iq, sy), (sy, iq)):
            out(f"[{there.node_id}] reads out: {prints[there.node_id]}")
            here.cli("partner", "add", there.node_id, "--url", there.url, "--fingerprint",
                     prints[there.node_id], "--display-name", there.city,
                     "--data-dir", str(here.data_dir))  # fmt: skip
            out(f"[{here.node_id}] pinned {there.node_id}: its key document matches")
        for node in nodes:
            for user, role in ACCOUNTS:
                node.cli("user", "add", user, "--role", role, "--data-dir", str(node.data_dir))
        out("[IQ] [SY] accounts created: a duty officer (cleared to TLP:AMBER+STRICT), a desk "
            "chief with the releaser role, an auditor and an administrator on each "
            "side")  # fmt: skip
        out("")

        out("== Officers submit fictional reports for each other ==")
        submitted = {}
        for node, partner, name in ((iq, sy, "iq-cell-wadi7.json"), (sy, iq, "sy-escape-d12.json")):
            node.cli("login", "duty-officer", user="officer")
            report = node.cli_json("report", "submit", str(REPORTS / name), "--to",
                                   partner.node_id, user="officer")  # fmt: skip
            assert isinstance(report, dict)
            submitted[node.node_id] = report
            out(f"[{node.node_id}] submitted {report['title']!r} ({report['tlp']}) "
                f"for {partner.node_id}: report {report['id'][:8]}")  # fmt: skip
        out("")

        out("== The nodes deliver: signed, X-Wing sealed, acknowledged with signed receipts ==")
        for node in nodes:
            report = wait_acknowledged(node, str(submitted[node.node_id]["id"]), "officer")
            delivery = report["deliveries"][0]  # type: ignore[index]
            out(f"[{node.node_id}] report {str(report['id'])[:8]} to {delivery['partner']}: "
                f"{delivery['state']} (message {str(delivery['message_id'])[:8]}, "
                f"seq {delivery['seq']}, {delivery['attempts']} attempt)")  # fmt: skip
        out("")

        out("== The partner officers read what arrived ==")
        read = 0
        for node, sender in ((sy, iq), (iq, sy)):
            inbox = node.cli_json("inbox", user="officer")
            assert isinstance(inbox, list) and len(inbox) == 1, inbox
            item = node.cli_json("inbox", "show", inbox[0]["id"], user="officer")
            assert isinstance(item, dict) and isinstance(item["bundle"], dict)
            if item["bundle"]["id"] != submitted[sender.node_id]["bundle_id"]:
                raise DemoFailed(f"{node.node_id} read another bundle than {sender.node_id} sent")
            read += 1
            types = sorted({o["type"] for o in item["bundle"]["objects"]})
            out(f"[{node.node_id}] from {item['sender']}: {item['title']!r} {item['tlp']}, "
                f"signatures verified; objects: {', '.join(types)}")  # fmt: skip
        out("")

        out("== The sharing policy at work: a refusal, a held release, a redaction ==")
        red = root / "iq-red.json"
        red.write_text(red_variant((REPORTS / "iq-cell-wadi7.json").read_text()))
        refusal = iq.cli("report", "submit", str(red), "--to", "SY", user="officer",
                         refused_ok=True)  # fmt: skip
        if "outbound.red" not in refusal:
            raise DemoFailed(f"the TLP:RED report was not refused by outbound.red: {refusal}")
        out(
            "[IQ] a TLP:RED report for SY is refused before anything is stored: rule "
            "outbound.red (IQ's policy names no RED recipient)"
        )
        held = iq.cli_json("report", "submit", str(REPORTS / "iq-escape-plot-k4.json"), "--to",
                           "SY", user="officer")  # fmt: skip
        assert isinstance(held, dict)
        [release] = held["deliveries"]
        if release["state"] != "held":
            raise DemoFailed(f"the AMBER+STRICT report was not held: {release}")
        out(f"[IQ] {held['title']!r} ({held['tlp']}) names a source: held for a second "
            f"officer (rule outbound.two_person)")  # fmt: skip
        iq.cli("login", "desk-chief", user="releaser")
        shown = iq.cli_json("release", "show", str(held["id"]), "--partner", "SY", user="releaser")
        assert isinstance(shown, dict)
        removed = shown["decision"]["removed"]
        out(f"[IQ] the desk chief reviews what SY would receive: "
            f"{len(removed.get('objects', []))} objects and "
            f"{len(removed.get('properties', []))} properties removed (source identity, source "
            f"fields, internal note)")  # fmt: skip
        iq.cli("release", "approve", str(held["id"]), "--partner", "SY", "--note",
               "checked the redaction", user="releaser")  # fmt: skip
        wait_acknowledged(iq, str(held["id"]), "officer")
        out("[IQ] approved by the desk chief; sealed, delivered and acknowledged")
        inbox = sy.cli_json("inbox", user="officer")
        assert isinstance(inbox, list)
        [arrived] = [i for i in inbox if i["bundle_id"] == held["bundle_id"]]
        copy = sy.cli_json("inbox", "show", arrived["id"], user="officer")
        assert isinstance(copy, dict)
        text = json.dumps(copy["bundle"])
        leaked = [marker for marker in REDACTED if marker in text]
        if leaked:
            raise DemoFailed(f"SY received what IQ's policy redacts: {leaked}")
        read += 1
        out(f"[SY] reads {copy['title']!r}: the cell and the channel, no source, no source "
            f"fields, no internal note")  # fmt: skip
        out("")

        out("== IQ's analysts connect their own platform over TAXII 2.1 ==")
        iq.cli("login", "node-admin", user="admin")
        made = iq.cli_json("integration", "add", "opencti", "--partner", "SY", "--read",
                           "--write", "--clearance", "amber", "--label", "OpenCTI, CT desk",
                           user="admin")  # fmt: skip
        assert isinstance(made, dict)
        secret = str(made["secret"])
        out("[IQ] the administrator creates a TAXII credential for the desk's OpenCTI "
            "(read+write, SY, up to TLP:AMBER); its secret is shown once")  # fmt: skip
        pages = taxii_pages(iq.taxii_url, "opencti", secret)
        out(f"[IQ] taxii2-client (unmodified) at {iq.taxii_url}: API root {pages['root']}, "
            f"collections {', '.join(pages['collections'])}; the inbox pages through "
            f"{pages['objects']} objects from SY in {pages['pages']} pages of {PAGE}; "
            f"sent holds {pages['sent']} objects as released to SY")  # fmt: skip
        envelope = {"objects": json.loads(DRAFT.read_text())["objects"]}  # TAXII 2.1 sec. 3.7
        status = taxii_post_draft(iq.taxii_url, "opencti", secret, json.dumps(envelope))
        out(f"[IQ] OpenCTI posts its export (TLP 1.0 markings, an unmarked author) to the "
            f"drafts collection: status {status['status']}, {status['success_count']} of "
            f"{status['total_count']} objects kept as a draft; nothing leaves without an "
            f"officer")  # fmt: skip
        drafts = iq.cli_json("draft", "list", user="officer")
        assert isinstance(drafts, list) and len(drafts) == 1, drafts
        draft = iq.cli_json("draft", "show", drafts[0]["id"], user="officer")
        assert isinstance(draft, dict)
        kinds = sorted({str(change["kind"]) for change in draft["changes"]})
        out(f"[IQ] the duty officer reviews draft {str(draft['id'])[:8]}: "
            f"{len(draft['changes'])} changes by the import ({', '.join(kinds)}), "
            f"{len(draft['unmarked'])} object with no marking")  # fmt: skip
        from_draft = iq.cli_json("draft", "submit", str(draft["id"]), "--to", "SY",
                                 "--mark-unmarked", "green", "--yes", user="officer")  # fmt: skip
        assert isinstance(from_draft, dict)
        wait_acknowledged(iq, str(from_draft["id"]), "officer")
        inbox = sy.cli_json("inbox", user="officer")
        assert isinstance(inbox, list)
        if not any(i["bundle_id"] == from_draft["bundle_id"] for i in inbox):
            raise DemoFailed("SY did not receive the report submitted from the TAXII draft")
        read += 1
        out(f"[IQ] submitted as {from_draft['tlp']} with the author marked TLP:GREEN by the "
            f"officer's choice; delivered, acknowledged, and in SY's inbox")  # fmt: skip
        out("")

        out("== IQ rotates the key that seals its stored reports, while serving ==")
        rotated = iq.cli_json("node", "rotate-data-key", "--data-dir", str(iq.data_dir))
        assert isinstance(rotated, dict)
        reloaded = iq.cli_json("node", "reload-keys", user="admin")
        assert isinstance(reloaded, dict) and rotated["data_key"] in reloaded["data_keys"]
        began = time.monotonic()
        while True:
            keys = iq.cli_json("node", "data-keys", user="admin")
            assert isinstance(keys, dict)
            if keys["current"] == rotated["data_key"] and keys["reseal_done"]:
                break
            if time.monotonic() - began > 60:
                raise DemoFailed(f"the re-seal under the new data key did not finish: {keys}")
            time.sleep(0.3)
        out(f"[IQ] new data key {rotated['data_key']}; the running node re-sealed "
            f"{keys['resealed']} stored values under it in the background "
            f"({time.monotonic() - began:.1f} s), no restart")  # fmt: skip
        retired = iq.cli_json("node", "retire-data-keys", "--data-dir", str(iq.data_dir))
        assert isinstance(retired, dict)
        iq.cli("node", "reload-keys", user="admin")
        inbox = iq.cli_json("inbox", user="officer")
        assert isinstance(inbox, list) and inbox
        iq.cli_json("inbox", "show", inbox[0]["id"], user="officer")  # still opens and verifies
        gone = ", ".join(map(str, retired["retired"]))
        out(f"[IQ] data key {gone} retired from the key file: a copy of the old database no "
            f"longer opens with it; the inbox still reads")  # fmt: skip
        out("")

        out("== The auditors review the access logs ==")
        events = {}
        for node in nodes:
            node.cli("login", "auditor", user="auditor")
            log = node.cli_json("audit", "log", "--all", user="auditor")
            assert isinstance(log, list)
            events[node.node_id] = len(log)
            actions = sorted({e["action"] for e in log})
            out(f"[{node.node_id}] {len(log)} records: {', '.join(actions)}")
        out("")

        out("== The logs are Merkle trees; each node cosigns the other's checkpoints ==")
        cosigned = {}
        for node, partner in ((iq, sy), (sy, iq)):
            node.cli("audit", "checkpoint", user="auditor")
            report = wait_cosigned(node, partner, prints[node.node_id])
            cosigned[node.node_id] = report["checkpoints"][-1]["size"]
            out(f"[{node.node_id}] the auditor re-verifies the whole log on their side against "
                f"the node's fingerprint: {report['records']} records intact; checkpoint "
                f"{report['checkpoints'][-1]['size']} signed by {node.node_id} and cosigned by "
                f"{partner.node_id}")  # fmt: skip
        out("")
        summary: dict[str, Any] = {
            "nodes": 2,
            "reports_submitted": len(submitted) + 2,
            "reports_refused_by_policy": 1,
            "releases_held_then_approved": 1,
            "reports_acknowledged": len(submitted) + 2,
            "reports_read_by_partner": read,
            "audit_records": events,
            "checkpoints_cosigned": cosigned,
            "consoles": [(node.node_id, node.city, node.console_url) for node in nodes],
            "taxii": (iq.taxii_url, "opencti", secret),
            "seconds": round(time.monotonic() - started, 1),
        }
        if hold is not None:
            hold(nodes, summary)
    finally:
        codes = stop_all(nodes)
    if any(code != 0 for code in codes.values()):
        raise DemoFailed(f"the servers did not shut down cleanly: exit codes {codes}")
    summary["server_exit_codes"] = codes
    return summary


def taxii_pages(discovery: str, user: str, secret: str) -> dict[str, Any]:
    """What a platform sees through taxii2-client: the API root, its collections, and the inbox
    paged five objects at a time (``as_pages``), as OpenCTI's and MISP's TAXII clients do."""
    server = Server(discovery, user=user, password=secret)
    root = server.api_roots[0]
    by_alias = {c.alias: c for c in root.collections}
    pages = list(as_pages(by_alias["inbox"].get_objects, per_request=PAGE))
    objects = sum(len(page.get("objects", [])) for page in pages)
    if objects == 0:
        raise DemoFailed("the TAXII inbox collection is empty")
    sent = len(by_alias["sent"].get_objects(limit=1000).get("objects", []))
    return {"root": root.url, "collections": sorted(by_alias), "objects": objects,
            "pages": len(pages), "sent": sent}  # fmt: skip


def taxii_post_draft(discovery: str, user: str, secret: str, envelope: str) -> dict[str, Any]:
    """What a platform's TAXII push does: POST an envelope of objects to the ``drafts``
    collection and wait for the status resource to complete."""
    server = Server(discovery, user=user, password=secret)
    [drafts] = [c for c in server.api_roots[0].collections if c.alias == "drafts"]
    status = drafts.add_objects(envelope, wait_for_completion=True, poll_interval=0.2, timeout=30)
    if status.status != "complete" or status.failure_count:
        raise DemoFailed(f"the TAXII POST to drafts did not complete: {status}")
    return {"status": status.status, "success_count": status.success_count,
            "total_count": status.total_count}  # fmt: skip


def summary_line(summary: dict[str, Any]) -> str:
    return ("Summary: 2 nodes (IQ Baghdad, SY Damascus) on loopback, "
            f"{summary['reports_submitted']} reports submitted, "
            f"{summary['reports_acknowledged']} delivered and acknowledged with signed receipts, "
            f"{summary['reports_read_by_partner']} read by the partner officers, "
            f"{summary['reports_refused_by_policy']} refused by policy, "
            f"{summary['releases_held_then_approved']} held and approved by a releaser, "
            f"audit records IQ {summary['audit_records']['IQ']} / "
            f"SY {summary['audit_records']['SY']}, "
            f"{summary['seconds']} s.")  # fmt: skip


def console_note(summary: dict[str, Any], *, running: bool) -> str:
    """Where to open each node's web console, and the accounts to log in with."""
    lines = ["== The web consoles ==" if running else "== The web consoles (now stopped) =="]
    lines += [f"[{node_id}] {city}: {url}" for node_id, city, url in summary["consoles"]]
    url, user, secret = summary["taxii"]
    lines.append(f"[IQ] TAXII 2.1 for the home platforms: {url} (user {user}, password "
                 f"{secret}; docs/integration.md)")  # fmt: skip
    accounts = ", ".join(f"{user} ({role})" for user, role in ACCOUNTS)
    lines.append(f"Accounts on both nodes: {accounts}; the password of each is the demo's: "
                 f"{PASSWORD!r}")  # fmt: skip
    if not running:
        lines.append("To look at them in a browser, run the demo with KEEP=1 make demo (or "
                     "python -m demo.two_nodes --keep): both nodes then stay up until "
                     "Ctrl-C.")  # fmt: skip
    return "\n".join(lines)


def hold_until_interrupted(nodes: Sequence[LiveNode], summary: dict[str, Any]) -> None:
    """Print the consoles and wait, the nodes running, until Ctrl-C (or a node stops)."""
    print(summary_line(summary))
    print("")
    print(console_note(summary, running=True))
    print("Both nodes keep running (the worker delivers, pulls and witnesses as usual). "
          "Press Ctrl-C to stop them.", flush=True)  # fmt: skip
    # Ctrl-C and SIGTERM both end the wait (SIGINT may have been ignored since start-up, as
    # for a job started in the background of a script, and Python then never raises for it).
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while all(node.process is not None and node.process.poll() is None for node in nodes):
            time.sleep(0.5)
        gone = [n.node_id for n in nodes if n.process is None or n.process.poll() is not None]
        print(f"{', '.join(gone)} stopped on its own; see its server log", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nStopping both nodes...", flush=True)
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave both nodes running at the end, until Ctrl-C, to look at their consoles; "
        "then keep the data dirs and logs",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the consoles and the summary"
    )
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="liaison-demo-"))
    say = (lambda _text: None) if args.quiet else (lambda text: print(text, flush=True))
    try:
        summary = run(root, say, hold=hold_until_interrupted if args.keep else None)
    except (DemoFailed, AssertionError, OSError, subprocess.SubprocessError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        print(f"(data dirs and server logs kept in {root})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"demo interrupted (data dirs and server logs kept in {root})", file=sys.stderr)
        return 130
    if args.keep:
        print(f"Both nodes stopped. Data dirs and server logs: {root}")
    else:
        print(console_note(summary, running=False))
        print(summary_line(summary))
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The officer's CLI against two in-process nodes: login, reports, inbox, and every exit code."""

from __future__ import annotations

import ast
import asyncio
import json
import socket
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from crypto.fingerprint import fingerprint
from tests.twonode import PASSWORD, REPORTS

REPORT = REPORTS / "iq-cell-wadi7.json"


@pytest.fixture
def iq(cli, pinned):
    """A CLI bound to IQ (LIAISON_URL) with the officer logged in."""

    def run(*argv: str, **kw):
        kw.setdefault("transport", pinned.transport)
        env = {"LIAISON_URL": pinned.iq.url, **kw.pop("env", {})}
        return cli(*argv, env=env, **kw)

    result = run("login", "officer", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.code == 0, result.err
    return run


def sy_cli(cli, cluster, *argv: str, **kw):
    return cli(*argv, env={"LIAISON_URL": cluster.sy.url}, transport=cluster.transport, **kw)


def unmarked_bundle() -> bytes:
    bundle = json.loads(REPORT.read_text())
    bundle["objects"] = [o for o in bundle["objects"] if o["type"] != "marking-definition"]
    for obj in bundle["objects"]:
        obj.pop("object_marking_refs", None)
    return json.dumps(bundle).encode()


# -- login and the token file --


def test_login_stores_the_token_in_a_0600_file(cli, cluster, tmp_path):
    result = cli(
        "login",
        "officer",
        "--url",
        cluster.iq.url,
        "--password-stdin",
        stdin=PASSWORD + "\n",
        transport=cluster.transport,
    )
    assert result.code == 0, result.err
    path = tmp_path / "home" / ".config" / "liaison" / "token-iq.test-80"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    record = json.loads(path.read_text())
    assert record["url"] == "http://iq.test" and record["role"] == "officer"
    assert str(path) in result.out
    assert PASSWORD not in path.read_text()


def test_login_takes_user_and_password_from_the_environment(cli, cluster, tmp_path):
    token_file = tmp_path / "session"
    result = cli(
        "login",
        env={
            "LIAISON_URL": cluster.iq.url,
            "LIAISON_USER": "officer",
            "LIAISON_PASSWORD": PASSWORD,
            "LIAISON_TOKEN_FILE": str(token_file),
        },
        transport=cluster.transport,
    )
    assert result.code == 0, result.err
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_logout_forgets_the_token(iq):
    assert iq("logout").out == "logged out\n"
    after = iq("report", "list")
    assert (after.code, after.err) == (3, "liaison: not logged in: run liaison login\n")


# -- reports and inbox --


def test_report_submit_list_show_and_inbox(iq, cli, pinned):
    submitted = iq("report", "submit", str(REPORT), "--to", "SY")
    assert submitted.code == 0, submitted.err
    assert submitted.out.startswith("submitted ")
    assert "Cell WADI-7 (fictional) (TLP:AMBER, 5 objects) -> SY:queued\n" in submitted.out
    assert "  SY: allow - queued, seq 1\n" in submitted.out
    report_id = submitted.out.split()[1].rstrip(":")

    assert asyncio.run(pinned.iq.deliver()) == 1

    listed = iq("report", "list")
    assert listed.code == 0, listed.err
    header, row = listed.out.splitlines()
    assert header.split() == ["ID", "CREATED", "TLP", "TITLE", "DELIVERY"]
    assert row.startswith(report_id)
    assert "TLP:AMBER" in row and row.endswith("SY:acknowledged")
    assert header.index("TLP") == row.index("TLP:AMBER")  # aligned columns

    shown = iq("report", "show", report_id)
    assert shown.code == 0, shown.err
    assert f"Report:        {report_id}" in shown.out
    assert "Submitted by:  officer" in shown.out
    header, delivery = (line.split() for line in shown.out.splitlines()[-2:])
    assert header[:5] == ["PARTNER", "STATE", "OUTCOME", "SEQ", "ATTEMPTS"]
    assert delivery[:5] == ["SY", "acknowledged", "allow", "1", "1"]

    bundle = iq("report", "show", report_id, "--bundle")
    assert json.loads(bundle.out) == json.loads(REPORT.read_text())

    inbox = sy_cli(cli, pinned, "inbox")
    assert inbox.code == 3  # not logged in on SY yet
    login = sy_cli(cli, pinned, "login", "officer", "--password-stdin", stdin=PASSWORD + "\n")
    assert login.code == 0, login.err
    inbox = sy_cli(cli, pinned, "inbox")
    assert inbox.code == 0, inbox.err
    header, row = inbox.out.splitlines()
    assert header.split() == ["ID", "RECEIVED", "SENDER", "TLP", "TITLE"]
    inbound_id = row.split()[0]
    assert "  IQ  " in row and row.endswith("Cell WADI-7 (fictional)")

    shown = sy_cli(cli, pinned, "inbox", "show", inbound_id)
    assert shown.code == 0, shown.err
    assert "Signatures:       verified" in shown.out
    assert '"type": "bundle"' in shown.out


def test_every_listing_takes_json(iq, cli, pinned):
    submitted = iq("report", "submit", "-", "--to", "SY", "--json", stdin=REPORT.read_bytes())
    assert submitted.code == 0, submitted.err
    report = json.loads(submitted.out)
    assert report["tlp"] == "TLP:AMBER" and report["warnings"] == []
    assert submitted.out == json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    asyncio.run(pinned.iq.deliver())

    listed = json.loads(iq("report", "list", "--json").out)
    assert [r["id"] for r in listed] == [report["id"]]
    assert listed[0]["deliveries"][0]["state"] == "acknowledged"
    shown = json.loads(iq("report", "show", report["id"], "--json").out)
    assert shown["deliveries"][0]["state"] == "acknowledged" and "bundle" not in shown
    bundle = json.loads(iq("report", "show", report["id"], "--bundle").out)
    assert bundle["id"] == report["bundle_id"]

    login = sy_cli(cli, pinned, "login", "officer", "--password-stdin", stdin=PASSWORD + "\n")
    assert login.code == 0, login.err
    inbox = json.loads(sy_cli(cli, pinned, "inbox", "--json").out)
    assert [m["sender"] for m in inbox] == ["IQ"]
    one = json.loads(sy_cli(cli, pinned, "inbox", "show", inbox[0]["id"], "--json").out)
    assert one["bundle"]["id"] == report["bundle_id"] and one["sender"] == "IQ"
    via_list = json.loads(sy_cli(cli, pinned, "inbox", "list", "--json").out)
    assert via_list == inbox


def test_unmarked_stix_is_refused_with_the_validator_messages(iq, tmp_path):
    path = tmp_path / "unmarked.json"
    path.write_bytes(unmarked_bundle())

    result = iq("report", "submit", str(path), "--to", "SY")

    assert result.code == 1
    assert result.out == ""
    first, *messages = result.err.splitlines()
    assert first.startswith("liaison: 4 object(s) without a TLP marking")
    assert len(messages) == 4
    assert all(m.startswith("  ") and "no TLP marking" in m for m in messages)
    assert messages[0].strip().startswith("identity--")


def test_a_missing_report_is_one_line_from_the_node(iq):
    result = iq("report", "show", "no-such-report")
    assert result.code == 1
    assert result.err == "liaison: no report 'no-such-report'\n"


def test_an_id_cannot_walk_to_another_endpoint(iq):
    # Unquoted, this would be GET /api/v1/admin/users, which an officer is refused with a 403.
    result = iq("report", "show", "../admin/users")
    assert (result.code, result.err) == (1, "liaison: Not Found\n")


def test_a_missing_file_is_one_line(iq, tmp_path):
    result = iq("report", "submit", str(tmp_path / "nope.json"), "--to", "SY")
    assert result.code == 1
    assert result.err == f"liaison: {tmp_path / 'nope.json'}: No such file or directory\n"


def test_an_officer_is_not_an_admin(iq):
    result = iq("user", "list")
    assert (result.code, result.err) == (1, "liaison: this action needs the admin role\n")


# -- admin over HTTP --


@pytest.fixture
def admin(cli, cluster):
    def run(*argv: str, **kw):
        kw.setdefault("transport", cluster.transport)
        return cli(*argv, env={"LIAISON_URL": cluster.iq.url, **kw.pop("env", {})}, **kw)

    assert run("login", "admin", env={"LIAISON_PASSWORD": PASSWORD}).code == 0
    return run


def test_admin_adds_and_lists_users_over_http(admin):
    added = admin(
        "user",
        "add",
        "dave",
        "--role",
        "auditor",
        "--password-stdin",
        stdin="dave's long password\n",
    )
    assert (added.code, added.out) == (0, "added user dave (auditor)\n"), added.err
    users = json.loads(admin("user", "list", "--json").out)
    assert {u["username"]: u["role"] for u in users}["dave"] == "auditor"
    table = admin("user", "list").out.splitlines()
    assert table[0].split() == ["USERNAME", "ROLE", "CLEARANCE", "DISABLED", "CREATED"]


def test_partner_add_over_http_pins_and_lists(admin, cluster):
    fp = fingerprint(cluster.sy.node.identity.signing.public)
    added = admin("partner", "add", "SY", "--url", cluster.sy.url, "--fingerprint", fp)
    assert added.code == 0, added.err
    partners = json.loads(admin("partner", "list", "--json").out)
    assert [(p["node_id"], p["fingerprint"]) for p in partners] == [("SY", fp)]


def test_partner_add_over_http_refuses_a_wrong_fingerprint(admin, cluster):
    wrong = fingerprint(cluster.iq.node.identity.signing.public)
    result = admin("partner", "add", "SY", "--url", cluster.sy.url, "--fingerprint", wrong)
    assert result.code == 1
    assert result.err == (
        "liaison: the key document served at http://sy.test does not match the fingerprint you "
        "gave for SY; it was NOT pinned. Compare the fingerprint again out of band.\n"
    )
    assert json.loads(admin("partner", "list", "--json").out) == []


def test_partner_add_refuses_a_data_dir_and_a_node_url_together(admin, cluster):
    result = admin(
        "partner",
        "add",
        "SY",
        "--url",
        cluster.sy.url,
        "--fingerprint",
        "1",
        "--data-dir",
        str(cluster.tmp / "IQ"),
        "--node-url",
        cluster.iq.url,
    )
    assert result.code == 2
    assert "not both" in result.err


def test_auditor_reads_the_access_log(cli, cluster):
    env = {"LIAISON_URL": cluster.iq.url, "LIAISON_PASSWORD": PASSWORD}
    assert cli("login", "auditor", env=env, transport=cluster.transport).code == 0
    result = cli("audit", "--action", "auth.login", "--json", env=env, transport=cluster.transport)
    assert result.code == 0, result.err
    events = json.loads(result.out)
    assert events and all(e["action"] == "auth.login" for e in events)


# -- exit codes --


def test_wrong_password_exits_3(cli, cluster, tmp_path):
    result = cli(
        "login",
        "officer",
        "--url",
        cluster.iq.url,
        "--password-stdin",
        stdin="not the password\n",
        transport=cluster.transport,
    )
    assert (result.code, result.err) == (3, "liaison: wrong username or password\n")
    assert not (tmp_path / "home" / ".config" / "liaison").exists()


def test_an_expired_token_exits_3(iq, pinned):
    pinned.clock.advance(pinned.iq.node.settings.token_ttl + 1)
    result = iq("report", "list")
    assert result.code == 3
    assert result.err.startswith("liaison: not logged in: run liaison login")


def test_a_token_file_others_can_read_is_refused(iq, tmp_path):
    path = tmp_path / "home" / ".config" / "liaison" / "token-iq.test-80"
    path.chmod(0o644)
    result = iq("report", "list")
    assert result.code == 3
    assert "is accessible by others" in result.err


def test_a_token_from_the_environment_overrides_the_file(iq):
    result = iq("report", "list", env={"LIAISON_TOKEN": "not-a-token"})
    assert result.code == 3


def test_missing_password_without_a_terminal_exits_2(cli, cluster):
    result = cli("login", "officer", "--url", cluster.iq.url, transport=cluster.transport)
    assert result.code == 2
    assert result.err == (
        "liaison: no password given: use --password-stdin or set LIAISON_PASSWORD "
        "(stdin is not a terminal)\n"
    )


def test_an_empty_password_on_stdin_exits_2(cli, cluster):
    result = cli(
        "login",
        "officer",
        "--url",
        cluster.iq.url,
        "--password-stdin",
        transport=cluster.transport,
    )
    assert result.code == 2
    assert "no password was read from stdin" in result.err


def test_missing_username_without_a_terminal_exits_2(cli, cluster):
    result = cli("login", "--url", cluster.iq.url, env={"LIAISON_PASSWORD": PASSWORD})
    assert (result.code, result.err.count("\n")) == (2, 1)
    assert "no username given" in result.err


def test_missing_node_url_exits_2(cli):
    result = cli("report", "list")
    assert result == type(result)(2, "", "liaison: no node URL: give --url or set LIAISON_URL\n")


def test_bad_arguments_exit_2_with_one_line(cli):
    result = cli("report", "submit", "bundle.json")
    assert result.code == 2
    assert result.err == (
        "liaison: report submit: the following arguments are required: --to "
        "(see liaison report submit --help)\n"
    )
    assert cli("user", "add", "x", "--role", "root").code == 2
    assert cli().code == 2


def test_help_exits_0(cli):
    result = cli("--help")
    assert result.code == 0
    assert "report" in result.out and "--kdf-memory-kib" not in cli("node", "init", "-h").out


def test_an_unreachable_node_exits_4(cli):
    with socket.socket() as s:  # a loopback port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = cli("node", "info", "--url", f"http://127.0.0.1:{port}")
    assert result.code == 4
    assert result.err.startswith(f"liaison: cannot connect to http://127.0.0.1:{port}")
    assert result.err.count("\n") == 1


def test_a_node_that_went_down_exits_4(iq, pinned):
    pinned.network.down.add(pinned.iq.host)
    result = iq("report", "list")
    assert (result.code, result.err) == (
        4,
        "liaison: cannot connect to http://iq.test: iq.test unreachable\n",
    )


def test_an_invalid_url_exits_2(cli):
    result = cli("node", "info", "--url", "iq.example:8600")
    assert result.code == 2
    assert "invalid node URL" in result.err


def test_partner_strings_cannot_drive_the_terminal(iq, cli, pinned, tmp_path):
    bundle = json.loads(REPORT.read_text())
    for obj in bundle["objects"]:
        if obj["type"] == "intrusion-set":
            obj["name"] = "Cell \x1b]0;pwned\x07WADI \u202eevil"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(bundle))
    assert iq("report", "submit", str(path), "--to", "SY").code == 0
    for out in (iq("report", "list").out, iq("report", "submit", str(path), "--to", "SY").out):
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    raw = iq("report", "list", "--json").out
    assert "\x1b" not in raw and "\u202e" not in raw
    assert json.loads(raw)[0]["title"] == "Cell \x1b]0;pwned\x07WADI \u202eevil"


def test_the_console_script_is_this_main():
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["liaison"] == "clients.cli:main"


SERVER_SIDE = frozenset({"service", "crypto", "policies"})
SERVER_LIBRARIES = frozenset(
    {"fastapi", "starlette", "uvicorn", "sqlalchemy", "pydantic", "alembic"}
)
TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _imports(
    nodes: Iterable[ast.AST], at_load: bool = True
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement in ``nodes``, and whether it runs when the module is loaded
    (false inside a function, or under ``if TYPE_CHECKING:``)."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, at_load
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _imports(ast.iter_child_nodes(node), False)
        elif isinstance(node, ast.If) and ast.unparse(node.test) in TYPE_CHECKING:
            yield from _imports(node.body, False)
            yield from _imports(node.orelse, at_load)
        else:
            yield from _imports(ast.iter_child_nodes(node), at_load)


def _top_packages(statement: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(statement, ast.Import):
        return {alias.name.split(".")[0] for alias in statement.names}
    if statement.level or statement.module is None:
        return {"clients"}  # relative: within clients
    return {statement.module.split(".")[0]}


def test_only_the_local_admin_package_reaches_into_the_server():
    """clients talk to a node over HTTP. Two documented exceptions: clients.local (the node's own
    machine) imports service, crypto and policies (and the server's libraries); auditcheck (the
    auditor's own verification) imports crypto only, never service or policies. Both import inside
    functions (or for type checking only), so that loading the CLI, the SDK or either of them loads
    none of it. Checked on the source of every module, then by importing all of them."""
    import pkgutil
    import subprocess
    import sys

    import clients

    root = Path(__file__).parents[2]
    package = root / "clients"

    def allowed(path: Path) -> frozenset[str]:
        relative = path.relative_to(package)
        if relative.parts[0] == "local":
            return SERVER_SIDE | SERVER_LIBRARIES
        if relative == Path("auditcheck.py"):
            return frozenset({"crypto"})
        return frozenset()

    reached: dict[str, set[str]] = {"local": set(), "auditcheck.py": set()}
    modules = sorted(package.rglob("*.py"))
    assert package / "cli" / "__init__.py" in modules
    assert package / "local" / "__init__.py" in modules
    for path in modules:
        where = path.relative_to(root)
        for statement, at_load in _imports(ast.parse(path.read_text(), str(where)).body):
            for name in _top_packages(statement) & (SERVER_SIDE | SERVER_LIBRARIES):
                assert name in allowed(path), f"{where}:{statement.lineno} imports {name}"
                assert not at_load, f"{where}:{statement.lineno} imports {name} when loaded"
                reached[path.relative_to(package).parts[0]].add(name)
    # The exceptions are real ones (the test would pass vacuously if they moved).
    assert {"service", "crypto", "policies"} <= reached["local"]
    assert reached["auditcheck.py"] == {"crypto"}

    names = sorted(
        m.name
        for m in pkgutil.walk_packages(clients.__path__, "clients.")
        if not m.name.endswith("__main__")
    )
    assert {"clients.cli", "clients.cli.audit", "clients.local", "clients.auditcheck"} <= set(names)
    probe = (
        f"import importlib, sys; [importlib.import_module(m) for m in {names!r}]; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        f"set({sorted(SERVER_SIDE | SERVER_LIBRARIES)!r})))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]", "officer commands must not load the server or crypto"


def test_partner_status_for_admins(cli, pinned):
    pinned.network.down.add("sy.test")

    def run(*argv, **kw):
        return cli(*argv, env={"LIAISON_URL": pinned.iq.url}, transport=pinned.transport, **kw)

    assert run("login", "officer", "--password-stdin", stdin=PASSWORD + "\n").code == 0
    assert run("report", "submit", str(REPORT), "--to", "SY").code == 0
    asyncio.run(pinned.iq.deliver())
    assert run("partner", "status", "SY").code == 1  # an officer is refused (403)
    assert run("login", "admin", "--password-stdin", stdin=PASSWORD + "\n").code == 0
    human = run("partner", "status", "SY")
    assert human.code == 0, human.err
    assert "1 undelivered (sent 1)" in human.out and "ConnectError" in human.out
    status = json.loads(run("partner", "status", "SY", "--json").out)
    assert status["backlog"] == 1 and status["next_seq"] == 2


def test_policy_check_prints_the_decision_the_rule_and_the_diff(cli, pinned, tmp_path):
    from policies import EXAMPLES_DIR, load_policy_dir

    pinned.iq.node.sharing = load_policy_dir(EXAMPLES_DIR / "IQ", node="IQ")
    bundle = json.loads(REPORT.read_text())
    bundle["objects"][3]["x_source_handler"] = "fictional"
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))

    def run(*argv, **kw):
        return cli(*argv, env={"LIAISON_URL": pinned.iq.url}, transport=pinned.transport, **kw)

    assert run("login", "officer", "--password-stdin", stdin=PASSWORD + "\n").code == 0
    human = run("policy", "check", str(path), "--partner", "SY")
    assert human.code == 0, human.err
    assert human.out.startswith("REDACT for SY by rule outbound.redact")
    assert "policy version sha256:" in human.out and '"x_source_handler"' in human.out
    assert (
        json.loads(run("policy", "check", str(REPORT), "--partner", "SY", "--json").out)[
            "decision"
        ]["outcome"]
        == "allow"
    )
    missing = run("policy", "check", str(REPORT), "--partner", "JO")
    assert missing.code == 1 and "no sharing policy" in missing.err

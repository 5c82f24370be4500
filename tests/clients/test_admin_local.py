"""Node administration on a data dir: node init, node fingerprint, user add, partner add, serve."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from crypto.fingerprint import fingerprint
from tests.databases import BACKENDS, fresh_database
from tests.twonode import PASSPHRASE, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
FINGERPRINT = re.compile(r"\d{5}( \d{5}){11}")
SECRET = {"LIAISON_PASSPHRASE": PASSPHRASE}


def init(cli, data_dir: Path, *extra: str, name: str = "IQ"):
    return cli("node", "init", "--name", name, "--data-dir", str(data_dir), *extra, env=SECRET)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_node_init_creates_keys_config_and_database(cli, tmp_path):
    data_dir = tmp_path / "iq"
    result = init(cli, data_dir, "--display-name", "Baghdad", "--port", "8611")
    assert result.code == 0, result.err
    assert result.err == ""

    key_file = data_dir / "identity.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    config = tomllib.loads((data_dir / "node.toml").read_text())
    assert config["node_id"] == "IQ"
    assert config["node_name"] == "Baghdad"
    assert config["public_url"] == "http://127.0.0.1:8611"
    assert config["listen_port"] == 8611
    assert (data_dir / "liaison.db").stat().st_size > 0
    assert "Node:         IQ" in result.out
    assert FINGERPRINT.search(result.out)


def test_node_init_takes_the_passphrase_from_stdin(cli, tmp_path):
    result = cli(
        "node",
        "init",
        "--name",
        "IQ",
        "--data-dir",
        str(tmp_path / "iq"),
        "--passphrase-stdin",
        "--json",
        stdin=PASSPHRASE + "\n",
    )
    assert result.code == 0, result.err
    fp = cli("node", "fingerprint", "--data-dir", str(tmp_path / "iq"), env=SECRET)
    assert fp.out.strip() in result.out


def test_node_init_refuses_a_dir_that_holds_a_node(cli, tmp_path):
    assert init(cli, tmp_path / "iq").code == 0
    before = (tmp_path / "iq" / "identity.key").read_bytes()

    again = init(cli, tmp_path / "iq", name="SY")

    assert again.code == 1
    assert again.err == f"liaison: {tmp_path / 'iq'} already holds a liaison node\n"
    assert (tmp_path / "iq" / "identity.key").read_bytes() == before


def test_node_init_reports_invalid_settings_in_one_line(cli, tmp_path):
    result = init(cli, tmp_path / "iq", "--public-url", "ftp://iq.example")
    assert result.code == 1
    assert result.err.startswith("liaison: invalid settings: public_url")
    assert result.err.count("\n") == 1


def test_node_init_without_a_passphrase_and_no_terminal_is_a_usage_error(cli, tmp_path):
    result = cli("node", "init", "--name", "IQ", "--data-dir", str(tmp_path / "iq"))
    assert result.code == 2
    assert "no passphrase given" in result.err
    assert not (tmp_path / "iq").exists()


def test_node_fingerprint_prints_twelve_groups(cli, tmp_path):
    created = init(cli, tmp_path / "iq")
    result = cli("node", "fingerprint", "--data-dir", str(tmp_path / "iq"), env=SECRET)
    assert result.code == 0, result.err
    assert FINGERPRINT.fullmatch(result.out.strip())
    assert result.out.strip() in created.out


def test_node_fingerprint_reads_the_data_dir_from_the_environment(cli, tmp_path):
    init(cli, tmp_path / "iq")
    result = cli(
        "node", "fingerprint", "--json", env={**SECRET, "LIAISON_DATA_DIR": str(tmp_path / "iq")}
    )
    assert result.code == 0, result.err
    assert '"node_id": "IQ"' in result.out


def test_node_fingerprint_with_a_wrong_passphrase_fails(cli, tmp_path):
    init(cli, tmp_path / "iq")
    result = cli(
        "node",
        "fingerprint",
        "--data-dir",
        str(tmp_path / "iq"),
        env={"LIAISON_PASSPHRASE": "not the passphrase"},
    )
    assert result.code == 1
    assert result.err == "liaison: wrong passphrase, or the key file was altered\n"


def test_a_dir_without_a_node_is_named(cli, tmp_path):
    result = cli("node", "fingerprint", "--data-dir", str(tmp_path / "none"), env=SECRET)
    assert result.code == 1
    assert "holds no liaison node" in result.err


@pytest.mark.parametrize("backend", BACKENDS)
def test_user_add_locally_on_either_database(cli, tmp_path, backend):
    with fresh_database(backend, tmp_path, "iq") as url:
        data_dir = tmp_path / "iq"
        assert init(cli, data_dir, "--database-url", url).code == 0
        if backend == "postgresql":
            assert not (data_dir / "liaison.db").exists()

        result = cli(
            "user",
            "add",
            "admin",
            "--role",
            "admin",
            "--data-dir",
            str(data_dir),
            "--passphrase-stdin",
            "--password-stdin",
            "--json",
            stdin=f"{PASSPHRASE}\n{PASSWORD}\n",
        )
        assert result.code == 0, result.err
        assert '"role": "admin"' in result.out

        taken = cli(
            "user",
            "add",
            "admin",
            "--role",
            "officer",
            "--data-dir",
            str(data_dir),
            env={**SECRET, "LIAISON_PASSWORD": PASSWORD},
        )
        assert taken.code == 1
        assert taken.err == "liaison: user 'admin' already exists\n"


def test_user_add_refuses_a_weak_password(cli, tmp_path):
    init(cli, tmp_path / "iq")
    result = cli(
        "user",
        "add",
        "bob",
        "--role",
        "officer",
        "--data-dir",
        str(tmp_path / "iq"),
        env={**SECRET, "LIAISON_PASSWORD": "short"},
    )
    assert result.code == 1
    assert "at least 12 characters" in result.err


def test_user_add_then_login_against_the_node(cli, cluster):
    data_dir = cluster.tmp / "IQ"
    added = cli(
        "user",
        "add",
        "carol",
        "--role",
        "officer",
        "--data-dir",
        str(data_dir),
        env={"LIAISON_PASSPHRASE": PASSPHRASE, "LIAISON_PASSWORD": "carol's long password"},
    )
    assert added.code == 0, added.err
    assert added.out == "added user carol (officer, clearance amber+strict)\n"

    login = cli(
        "login",
        "carol",
        "--url",
        cluster.iq.url,
        "--password-stdin",
        stdin="carol's long password\n",
        transport=cluster.transport,
    )
    assert login.code == 0, login.err


# -- partner add --


def sy_fingerprint(cluster) -> str:
    return fingerprint(cluster.sy.node.identity.signing.public)


def test_partner_add_locally_pins_a_matching_fingerprint(cli, cluster):
    result = cli(
        "partner",
        "add",
        "SY",
        "--url",
        cluster.sy.url,
        "--fingerprint",
        sy_fingerprint(cluster),
        "--display-name",
        "Damascus",
        "--data-dir",
        str(cluster.tmp / "IQ"),
        env=SECRET,
        transport=cluster.transport,
    )
    assert result.code == 0, result.err
    assert result.out == (
        f"pinned partner SY at http://sy.test, fingerprint {sy_fingerprint(cluster)}\n"
    )


def test_partner_add_locally_refuses_a_wrong_fingerprint(cli, cluster):
    wrong = fingerprint(cluster.iq.node.identity.signing.public)
    result = cli(
        "partner",
        "add",
        "SY",
        "--url",
        cluster.sy.url,
        "--fingerprint",
        wrong,
        "--data-dir",
        str(cluster.tmp / "IQ"),
        env=SECRET,
        transport=cluster.transport,
    )
    assert result.code == 1
    assert result.err == (
        "liaison: the key document served at http://sy.test does not match the fingerprint you "
        "gave for SY; it was NOT pinned. Compare the fingerprint again out of band.\n"
    )
    retry = cli(
        "partner",
        "add",
        "SY",
        "--url",
        cluster.sy.url,
        "--fingerprint",
        sy_fingerprint(cluster),
        "--data-dir",
        str(cluster.tmp / "IQ"),
        env=SECRET,
        transport=cluster.transport,
    )
    assert retry.code == 0, "the refused attempt must have left nothing pinned"


def test_partner_add_locally_when_the_partner_is_down(cli, cluster):
    cluster.network.down.add(cluster.sy.host)
    result = cli(
        "partner",
        "add",
        "SY",
        "--url",
        cluster.sy.url,
        "--fingerprint",
        sy_fingerprint(cluster),
        "--data-dir",
        str(cluster.tmp / "IQ"),
        env=SECRET,
        transport=cluster.transport,
    )
    assert result.code == 4
    assert result.err.startswith("liaison: cannot fetch http://sy.test/federation/v1/key-document")


# -- serve: a real server on a loopback port, as an operator runs it --


@pytest.mark.slow
def test_serve_runs_the_node_and_stops_cleanly_on_sigterm(cli, tmp_path):
    data_dir, port = tmp_path / "iq", free_port()
    assert init(cli, data_dir, "--port", str(port), "--display-name", "Baghdad").code == 0
    added = cli(
        "user",
        "add",
        "officer",
        "--role",
        "officer",
        "--data-dir",
        str(data_dir),
        env={**SECRET, "LIAISON_PASSWORD": PASSWORD},
    )
    assert added.code == 0, added.err
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIAISON_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "clients", "serve", "--data-dir", str(data_dir)],
        cwd=ROOT,
        env={**env, **SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the node did not start"
            time.sleep(0.1)

        info = cli("node", "info", "--url", url, "--json")
        assert info.code == 0, info.err
        assert '"node_id": "IQ"' in info.out
        login = cli("login", "officer", "--url", url, env={"LIAISON_PASSWORD": PASSWORD})
        assert login.code == 0, login.err
        listed = cli("report", "list", "--url", url)
        assert (listed.code, listed.out) == (0, "no reports\n")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    banner = out.splitlines()[0]
    assert banner.startswith(f"node IQ (Baghdad) serving {url} on 127.0.0.1:{port}, fingerprint ")
    assert FINGERPRINT.search(banner)
    assert "stopped (SIGTERM)" in out
    assert "Traceback" not in err


def test_serve_with_a_wrong_passphrase_fails_before_listening(cli, tmp_path):
    init(cli, tmp_path / "iq")
    result = cli(
        "serve", "--data-dir", str(tmp_path / "iq"), env={"LIAISON_PASSPHRASE": "wrong passphrase"}
    )
    assert result.code == 1
    assert result.err == "liaison: wrong passphrase, or the key file was altered\n"


def test_node_rotate_keys(cli, tmp_path):
    data_dir = tmp_path / "iq"
    assert init(cli, data_dir, "--kdf-memory-kib", "8192").code == 0
    rotated = cli(
        "node",
        "rotate-keys",
        "--data-dir",
        str(data_dir),
        "--kdf-memory-kib",
        "8192",
        "--json",
        env=SECRET,
    )
    assert rotated.code == 0, rotated.err
    info = json.loads(rotated.out)
    assert (
        info["key_serial"] == 2 and info["destroyed"] == [] and info["new_key"].startswith("kem-")
    )
    human = cli(
        "node", "rotate-keys", "--data-dir", str(data_dir), "--kdf-memory-kib", "8192", env=SECRET
    )
    assert human.code == 0 and "key serial 3" in human.out and "node reload-keys" in human.out
    wrong = cli(
        "node", "rotate-keys", "--data-dir", str(data_dir), env={"LIAISON_PASSPHRASE": "wrong"}
    )
    assert wrong.code != 0 and "passphrase" in wrong.err


def test_node_rotate_token_key(cli, tmp_path):
    data_dir = tmp_path / "iq"
    assert init(cli, data_dir, "--kdf-memory-kib", "8192").code == 0
    done = cli("node", "rotate-token-key", "--data-dir", str(data_dir), "--kdf-memory-kib",
               "8192", "--json", env=SECRET)  # fmt: skip
    assert done.code == 0, done.err
    info = json.loads(done.out)
    assert info["new_token_key"].startswith("tk-") and info["previous_accepted_for_seconds"] == 900
    human = cli("node", "rotate-token-key", "--data-dir", str(data_dir), "--kdf-memory-kib",
                "8192", env=SECRET)  # fmt: skip
    assert human.code == 0 and "node reload-keys" in human.out
    wrong = cli("node", "rotate-token-key", "--data-dir", str(data_dir),
                env={"LIAISON_PASSPHRASE": "wrong"})  # fmt: skip
    assert wrong.code != 0 and "passphrase" in wrong.err


def test_node_new_identity(cli, tmp_path):
    data_dir = tmp_path / "iq"
    assert init(cli, data_dir, "--kdf-memory-kib", "8192").code == 0
    before = cli("node", "fingerprint", "--data-dir", str(data_dir), env=SECRET).out.strip()
    done = cli("node", "new-identity", "--data-dir", str(data_dir), "--kdf-memory-kib", "8192",
               env=SECRET)  # fmt: skip
    assert done.code == 0, done.err
    after = cli("node", "fingerprint", "--data-dir", str(data_dir), env=SECRET).out.strip()
    assert after != before and after in done.out and before in done.out
    assert "liaison partner repin" in done.out and "Data key" in done.out
    info = json.loads(cli("node", "new-identity", "--data-dir", str(data_dir), "--kdf-memory-kib",
                          "8192", "--json", env=SECRET).out)  # fmt: skip
    assert info["previous_fingerprint"] == after and info["data_key"] == 3
    wrong = cli("node", "new-identity", "--data-dir", str(data_dir),
                env={"LIAISON_PASSPHRASE": "wrong"})  # fmt: skip
    assert wrong.code != 0 and "passphrase" in wrong.err


def test_node_change_passphrase(cli, tmp_path):
    data_dir = tmp_path / "iq"
    assert init(cli, data_dir, "--kdf-memory-kib", "8192").code == 0
    fp = cli("node", "fingerprint", "--data-dir", str(data_dir), env=SECRET).out.strip()
    new = {"LIAISON_NEW_PASSPHRASE": "a new fictional passphrase for the key file"}
    done = cli("node", "change-passphrase", "--data-dir", str(data_dir), "--kdf-memory-kib",
               "8192", env={**SECRET, **new})  # fmt: skip
    assert done.code == 0, done.err
    assert "restart liaison serve" in done.out
    old = cli("node", "fingerprint", "--data-dir", str(data_dir), env=SECRET)
    assert old.code != 0 and "passphrase" in old.err
    renewed = {"LIAISON_PASSPHRASE": new["LIAISON_NEW_PASSPHRASE"]}
    again = cli("node", "fingerprint", "--data-dir", str(data_dir), env=renewed)
    assert again.code == 0 and again.out.strip() == fp  # the same keys
    # Both from stdin: the current passphrase first, the new one second.
    both = cli("node", "change-passphrase", "--data-dir", str(data_dir), "--passphrase-stdin",
               "--new-passphrase-stdin", "--kdf-memory-kib", "8192",
               stdin=new["LIAISON_NEW_PASSPHRASE"] + "\nthird fictional passphrase\n")  # fmt: skip
    assert both.code == 0, both.err
    same = cli("node", "change-passphrase", "--data-dir", str(data_dir), "--kdf-memory-kib",
               "8192", env={"LIAISON_PASSPHRASE": "third fictional passphrase",
                            "LIAISON_NEW_PASSPHRASE": "third fictional passphrase"})  # fmt: skip
    assert same.code != 0 and "the old one" in same.err

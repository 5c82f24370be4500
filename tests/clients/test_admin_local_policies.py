"""Sharing policies and clearances on a data dir: node init --policies, a local user add with a
clearance, and the warning of a local partner add for a partner without a policy."""

from __future__ import annotations

import json
import shutil
import stat

from crypto.fingerprint import fingerprint
from policies import EXAMPLES_DIR
from service.bootstrap import open_node
from service.settings import load_settings
from tests.twonode import PASSPHRASE, PASSWORD

SECRET = {"LIAISON_PASSPHRASE": PASSPHRASE}


def init(cli, data_dir, *extra: str, name: str = "IQ"):
    return cli("node", "init", "--name", name, "--data-dir", str(data_dir), *extra, env=SECRET)


def broken_copy(tmp_path):
    """The example policies of IQ with an invalid max_tlp on line 10 of SY.toml."""
    source = tmp_path / "policies-in"
    shutil.copytree(EXAMPLES_DIR / "IQ", source)
    text = (source / "SY.toml").read_text()
    (source / "SY.toml").write_text(text.replace('max_tlp = "amber+strict"', 'max_tlp = "x"'))
    return source


# -- node init --policies --


def test_node_init_installs_checked_policies_privately(cli, tmp_path):
    data_dir = tmp_path / "iq"
    source = EXAMPLES_DIR / "IQ"

    result = init(cli, data_dir, "--policies", str(source))

    assert result.code == 0, result.err
    installed = data_dir / "policies"
    assert f"Policies:     SY.toml in {installed}\n" in result.out
    assert stat.S_IMODE(installed.stat().st_mode) == 0o700
    assert [p.name for p in installed.iterdir()] == ["SY.toml"]
    assert stat.S_IMODE((installed / "SY.toml").stat().st_mode) == 0o600
    assert (installed / "SY.toml").read_bytes() == (source / "SY.toml").read_bytes()
    node = open_node(load_settings(data_dir), PASSPHRASE)  # what serve loads
    try:
        assert set(node.sharing) == {"SY"}
    finally:
        node.db.dispose()


def test_node_init_policies_in_json(cli, tmp_path):
    result = init(cli, tmp_path / "iq", "--policies", str(EXAMPLES_DIR / "IQ"), "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["policies"] == ["SY.toml"]
    assert info["policies_dir"] == str(tmp_path / "iq" / "policies")


def test_node_init_without_policies_says_what_that_means(cli, tmp_path):
    result = init(cli, tmp_path / "iq")
    assert result.code == 0, result.err
    assert f"Policies:     none yet in {tmp_path / 'iq' / 'policies'}\n" in result.out
    assert "nothing is released to a partner and everything from it is quarantined" in result.out
    assert not (tmp_path / "iq" / "policies").exists()


def test_node_init_refuses_an_invalid_policy_and_creates_nothing(cli, tmp_path):
    source = broken_copy(tmp_path)

    result = init(cli, tmp_path / "iq", "--policies", str(source))

    assert result.code == 1
    assert result.err.startswith(f"liaison: invalid sharing policy: {source / 'SY.toml'}:10:")
    assert "max_tlp" in result.err and result.err.count("\n") == 1
    assert result.out == ""
    assert not (tmp_path / "iq").exists()


def test_node_init_refuses_the_policies_of_another_node(cli, tmp_path):
    result = init(cli, tmp_path / "sy", "--policies", str(EXAMPLES_DIR / "IQ"), name="SY")
    assert result.code == 1
    assert "this file is a policy of node 'IQ', the directory is for 'SY'" in result.err
    assert not (tmp_path / "sy").exists()


def test_node_init_refuses_a_policies_dir_that_is_not_one(cli, tmp_path):
    result = init(cli, tmp_path / "iq", "--policies", str(tmp_path / "nowhere"))
    assert (result.code, result.err) == (
        1,
        f"liaison: invalid sharing policy: {tmp_path / 'nowhere'}: not a directory\n",
    )


def test_a_policy_broken_after_init_is_one_line_not_an_internal_error(cli, tmp_path):
    data_dir = tmp_path / "iq"
    assert init(cli, data_dir, "--policies", str(EXAMPLES_DIR / "IQ")).code == 0
    installed = data_dir / "policies" / "SY.toml"
    installed.write_text(installed.read_text().replace('"amber+strict"', '"x"', 1))

    result = cli(
        "user",
        "add",
        "admin",
        "--role",
        "admin",
        "--data-dir",
        str(data_dir),
        env={**SECRET, "LIAISON_PASSWORD": PASSWORD},
    )

    assert result.code == 1
    assert result.err.startswith(f"liaison: invalid sharing policy: {installed}:10:")
    assert "internal error" not in result.err


# -- user add --clearance on the data dir --


def test_user_add_locally_with_a_clearance(cli, tmp_path):
    data_dir = tmp_path / "iq"
    assert init(cli, data_dir).code == 0

    def add(name: str, *extra: str):
        return cli(
            "user",
            "add",
            name,
            "--data-dir",
            str(data_dir),
            *extra,
            env={**SECRET, "LIAISON_PASSWORD": PASSWORD},
        )

    human = add("rita", "--role", "releaser", "--clearance", "red")
    assert (human.code, human.out) == (0, "added user rita (releaser, clearance red)\n"), human.err
    default = json.loads(add("olga", "--role", "officer", "--json").out)
    assert default["clearance"] == "amber+strict"
    auditor = add("audrey", "--role", "auditor")
    assert auditor.out == "added user audrey (auditor)\n"
    refused = add("al", "--role", "admin", "--clearance", "green")
    assert (refused.code, refused.err) == (
        1,
        "liaison: role 'admin' reads no report content, so it takes no clearance\n",
    )
    unknown = add("bo", "--role", "officer", "--clearance", "secret")
    assert unknown.code == 2 and "invalid choice: 'secret'" in unknown.err


# -- partner add: a warning when no policy covers the partner --


def add_sy(cli, cluster):
    return cli(
        "partner",
        "add",
        "SY",
        "--url",
        cluster.sy.url,
        "--fingerprint",
        fingerprint(cluster.sy.node.identity.signing.public),
        "--data-dir",
        str(cluster.tmp / "IQ"),
        env=SECRET,
        transport=cluster.transport,
    )


def test_partner_add_locally_warns_when_no_policy_covers_the_partner(cli, cluster):
    policies = cluster.iq.node.settings.policies_path
    (policies / "SY.toml").unlink()

    result = add_sy(cli, cluster)

    assert result.code == 0, result.err
    assert result.out.startswith("pinned partner SY at http://sy.test")
    assert result.err == (
        f"warning: no sharing policy for SY (expected {policies / 'SY.toml'}): nothing will be "
        "released to it and everything from it will be quarantined; write one, then restart "
        "liaison serve\n"
    )


def test_partner_add_locally_is_quiet_when_a_policy_covers_the_partner(cli, cluster):
    # The file's name does not matter: the policy's own ``partner`` key does.
    policies = cluster.iq.node.settings.policies_path
    (policies / "SY.toml").rename(policies / "damascus.toml")

    result = add_sy(cli, cluster)

    assert (result.code, result.err) == (0, "")

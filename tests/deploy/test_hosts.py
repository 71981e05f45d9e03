"""The two EC2 hosts of stack 2: public addresses that resolve, the share's fstab line in one
place, and the on-premises host's user data run in bash with stand-ins for dnf and systemd."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from deploy.gateway import mount_command
from tests.templates.cfn import load_template

STACK_2 = load_template("cf_app_infra_stack_2.yml")
RESOURCES = STACK_2["Resources"]
VALUES = {
    "FileGatewayInstance.PrivateIp": "10.0.1.25",
    "InboundBucket": "skp-inbound-111122223333-eu-west-1",
    "NfsMountPath": "/mnt/hit_data",
}


def _sub(template: Any, values: Mapping[str, str]) -> str:
    """Render an Fn::Sub (string or [string, variables]) with the given values."""
    text, variables = (template, {}) if isinstance(template, str) else template
    names = dict(values) | {name: _sub(value["Fn::Sub"], values) for name, value in variables.items()}
    return re.sub(r"\$\{([^}!]+)\}", lambda match: names[match.group(1)], text)


def _get_atts(node: Any) -> list[list[str]]:
    if isinstance(node, dict):
        found = [node["Fn::GetAtt"]] if "Fn::GetAtt" in node else []
        subs = node.get("Fn::Sub")
        text = subs if isinstance(subs, str) else (subs[0] if isinstance(subs, list) else "")
        found += [name.split(".", 1) for name in re.findall(r"\$\{([A-Za-z0-9]+\.[A-Za-z0-9]+)\}", text)]
        return found + [att for value in node.values() for att in _get_atts(value)]
    if isinstance(node, list):
        return [att for value in node for att in _get_atts(value)]
    return []


def _asks_for_public_ip(instance: Mapping[str, Any]) -> bool:
    interfaces = instance["Properties"].get("NetworkInterfaces", [])
    return any(interface.get("AssociatePublicIpAddress") is True for interface in interfaces)


def test_every_public_address_the_stack_reads_is_asked_for() -> None:
    # An instance has a public address only when it asks for one (the subnet may not map one on
    # launch); otherwise GetAtt PublicIp fails the stack. The hosts get Elastic IPs instead.
    for logical_id, attribute in _get_atts(STACK_2):
        if attribute == "PublicIp" and RESOURCES[logical_id]["Type"] == "AWS::EC2::Instance":
            assert _asks_for_public_ip(RESOURCES[logical_id]), logical_id
    for output, instance in (("FileGatewayPublicIp", "FileGatewayInstance"), ("OnPremPublicIp", "OnPremInstance")):
        address = RESOURCES[STACK_2["Outputs"][output]["Value"]["Ref"]]
        assert address["Type"] == "AWS::EC2::EIP"
        assert address["Properties"] == address["Properties"] | {"Domain": "vpc", "InstanceId": {"Ref": instance}}


def test_hosts_fstab_line_and_the_printed_mount_come_from_one_expression() -> None:
    user_data = RESOURCES["OnPremInstance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    output = STACK_2["Outputs"]["OnPremFstabEntry"]["Value"]
    assert user_data[1]["FstabEntry"] == output
    entry = _sub(output["Fn::Sub"], VALUES)
    # The host mounts the gateway's private address, where the share is exported as /<bucket>.
    assert entry.split()[:3] == ["10.0.1.25:/skp-inbound-111122223333-eu-west-1", "/mnt/hit_data", "nfs"]
    assert f'echo "{entry}" >> /etc/fstab' in _sub(user_data, VALUES)
    assert mount_command(entry) == f"mount -t nfs -o nolock,hard {entry.split()[0]} /mnt/hit_data"
    assert STACK_2["Outputs"]["OnPremPrivateIp"]["Value"] == {"Fn::GetAtt": ["OnPremInstance", "PrivateIp"]}


FAKE_COMMANDS = {
    # Not installed yet, and no repository until the Elastic IP is attached (DNF_FAILURES tries).
    "rpm": "exit 1",
    "dnf": 'n=$(cat "$STATE/dnf" 2>/dev/null || echo 0); echo $((n + 1)) > "$STATE/dnf"\n'
    'echo "dnf $*" >> "$STATE/calls"; [ "$n" -ge "$DNF_FAILURES" ]',
    "sleep": 'echo "sleep $*" >> "$STATE/calls"',
    "systemctl": 'echo "systemctl $*" >> "$STATE/calls"',
}


def _run_user_data(tmp_path: Path, dnf_failures: int) -> tuple[subprocess.CompletedProcess[str], list[str], Path]:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for name, body in FAKE_COMMANDS.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    if not shutil.which("systemd-escape"):  # the real one where systemd is installed
        (bin_dir / "systemd-escape").write_text('#!/bin/bash\np="${3#/}"; echo "${p//\\//-}.automount"\n')
        (bin_dir / "systemd-escape").chmod(0o755)
    mount_path = tmp_path / "mnt"
    script = _sub(RESOURCES["OnPremInstance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"],
                  VALUES | {"NfsMountPath": str(mount_path)})  # fmt: skip
    fstab = tmp_path / "fstab"
    script = script.replace("/etc/fstab", str(fstab))  # the one path outside the test's folder
    completed = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "STATE": str(state), "DNF_FAILURES": str(dnf_failures)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    calls = (state / "calls").read_text().splitlines() if (state / "calls").exists() else []
    return completed, calls, fstab


def _automount_unit(path: Path) -> str:
    if shutil.which("systemd-escape"):
        escape = ["systemd-escape", "--path", "--suffix=automount", str(path)]
        return subprocess.run(escape, capture_output=True, text=True, check=True).stdout.strip()
    return f"{str(path).lstrip('/').replace('/', '-')}.automount"


def test_automount_unit_of_the_default_mount_path() -> None:
    assert _automount_unit(Path("/mnt/hit_data")) == "mnt-hit_data.automount"


def test_on_prem_user_data_waits_for_its_address_then_starts_the_automount(tmp_path: Path) -> None:
    completed, calls, fstab = _run_user_data(tmp_path, dnf_failures=2)
    assert completed.returncode == 0, completed.stderr
    assert calls == [
        "dnf install -y nfs-utils", "sleep 20", "dnf install -y nfs-utils", "sleep 20", "dnf install -y nfs-utils",
        "systemctl daemon-reload", f"systemctl start {_automount_unit(tmp_path / 'mnt')}",
    ]  # fmt: skip
    assert (tmp_path / "mnt").is_dir()
    assert fstab.read_text().endswith("nfs nolock,hard,_netdev,nofail,x-systemd.automount 0 0\n")


def test_on_prem_user_data_gives_up_after_bounded_tries(tmp_path: Path) -> None:
    completed, calls, fstab = _run_user_data(tmp_path, dnf_failures=1000)
    assert completed.returncode == 1
    assert "no package repository after 30 tries" in completed.stderr
    assert calls.count("dnf install -y nfs-utils") == 30
    assert not fstab.exists()


@pytest.mark.parametrize("instance", ["FileGatewayInstance", "OnPremInstance"])
def test_hosts_run_the_pinned_image(instance: str) -> None:
    image = RESOURCES[instance]["Properties"]["ImageId"]["Ref"]
    assert STACK_2["Parameters"][image]["Type"] == "AWS::EC2::Image::Id"

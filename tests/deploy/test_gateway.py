"""`make gateway` against a stubbed Storage Gateway API (botocore Stubber): the calls, in order,
as the real activation sequence answers them."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any
from urllib.error import HTTPError, URLError

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy import gateway
from deploy.gateway import (
    GatewayPlan,
    GatewaySetupError,
    GatewayTimeoutError,
    activation_key_from,
    activation_url,
    fetch_activation_key,
    mount_command,
    plan_from_outputs,
    ready_lines,
    set_up_gateway,
    wait_until_running,
)

GATEWAY_ARN = "arn:aws:storagegateway:eu-west-1:111122223333:gateway/sgw-12A3456B"
SHARE_ARN = "arn:aws:storagegateway:eu-west-1:111122223333:share/share-ABCD1234"
KEY = "ABCDE-12345-FGHIJ-67890-KLMNO"
BUCKET = "skp-inbound-111122223333-eu-west-1"
FSTAB = f"10.0.1.25:/{BUCKET} /mnt/hit_data nfs nolock,hard,_netdev,nofail,x-systemd.automount 0 0"
OUTPUTS = {
    "FileGatewayPublicIp": "198.51.100.7",
    "FileGatewayInstanceId": "i-0abc",
    "FileShareRoleArn": "arn:aws:iam::111122223333:role/skp-FileShareRole",
    "InboundBucketName": BUCKET,
    "OnPremPrivateIp": "10.0.1.40",
    "OnPremFstabEntry": FSTAB,
}
# The host mounts the gateway's private address, so the gateway sees the host's private address.
CLIENTS = ["10.0.1.40/32", "203.0.113.0/24"]
NOT_CONNECTED = {"error": {"errorCode": "GatewayNotConnected"}}


@pytest.fixture
def plan() -> GatewayPlan:
    return plan_from_outputs("skp", "eu-west-1", "aws", OUTPUTS, "203.0.113.0/24")


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("storagegateway", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _share_request(location: str = f"arn:aws:s3:::{BUCKET}") -> dict[str, Any]:
    return {"ClientToken": ANY, "GatewayARN": GATEWAY_ARN, "Role": OUTPUTS["FileShareRoleArn"], "LocationARN": location,
            "DefaultStorageClass": "S3_STANDARD", "ClientList": CLIENTS, "Squash": "RootSquash", "ReadOnly": False,
            "KMSEncrypted": False, "FileShareName": BUCKET}  # fmt: skip


def _not_connected(stubber: Stubber) -> None:
    stubber.add_client_error(
        "describe_gateway_information",
        service_error_code="InvalidGatewayRequestException",
        service_message="The specified gateway is not connected.",
        modeled_fields=NOT_CONNECTED,
        expected_params={"GatewayARN": GATEWAY_ARN},
    )


def test_fresh_gateway_waits_through_not_connected_then_is_cached_and_shared(
    stubbed: tuple[Any, Stubber], plan: GatewayPlan
) -> None:
    client, stubber = stubbed
    stubber.add_response("list_gateways", {"Gateways": []})
    stubber.add_response(
        "activate_gateway",
        {"GatewayARN": GATEWAY_ARN},
        {"ActivationKey": KEY, "GatewayName": "skp-file-gateway", "GatewayTimezone": "GMT",
         "GatewayRegion": "eu-west-1", "GatewayType": "FILE_S3"},
    )  # fmt: skip
    _not_connected(stubber)
    _not_connected(stubber)
    stubber.add_response("describe_gateway_information", {"GatewayState": "RUNNING"}, {"GatewayARN": GATEWAY_ARN})
    stubber.add_response("describe_cache", {"GatewayARN": GATEWAY_ARN, "DiskIds": []}, {"GatewayARN": GATEWAY_ARN})
    stubber.add_response(
        "list_local_disks",
        {"Disks": [{"DiskId": "root", "DiskAllocationType": "USED"},
                   {"DiskId": "pci-0000:00:1f.0-nvme-1", "DiskAllocationType": "AVAILABLE"}]},
        {"GatewayARN": GATEWAY_ARN},
    )  # fmt: skip
    stubber.add_response("add_cache", {"GatewayARN": GATEWAY_ARN},
                         {"GatewayARN": GATEWAY_ARN, "DiskIds": ["pci-0000:00:1f.0-nvme-1"]})  # fmt: skip
    stubber.add_response("list_file_shares", {"FileShareInfoList": []}, {"GatewayARN": GATEWAY_ARN})
    stubber.add_response("create_nfs_file_share", {"FileShareARN": SHARE_ARN}, _share_request())
    sleeps: list[float] = []
    share = set_up_gateway(client, plan, fetch_key=lambda ip, region: KEY, sleep=sleeps.append)
    assert share == SHARE_ARN
    assert sleeps == [gateway.WAIT_STEP_S, gateway.WAIT_STEP_S]


def test_second_run_keeps_gateway_cache_and_share(stubbed: tuple[Any, Stubber], plan: GatewayPlan) -> None:
    client, stubber = stubbed
    stubber.add_response("list_gateways", {"Gateways": [{"GatewayARN": GATEWAY_ARN, "Ec2InstanceId": "i-0abc"}]})
    stubber.add_response("describe_gateway_information", {"GatewayState": "RUNNING"}, {"GatewayARN": GATEWAY_ARN})
    # The cache is known from DescribeCache; its disk lists as "CACHE_STORAGE", and no disk is free.
    cache = {"GatewayARN": GATEWAY_ARN, "DiskIds": ["d1"], "CacheAllocatedInBytes": 161061273600}
    stubber.add_response("describe_cache", cache, {"GatewayARN": GATEWAY_ARN})
    stubber.add_response("list_file_shares", {"FileShareInfoList": [{"FileShareARN": SHARE_ARN}]},
                         {"GatewayARN": GATEWAY_ARN})  # fmt: skip
    stubber.add_response(
        "describe_nfs_file_shares",
        {"NFSFileShareInfoList": [{"FileShareARN": SHARE_ARN, "LocationARN": f"arn:aws:s3:::{BUCKET}",
                                   "ClientList": CLIENTS}]},
        {"FileShareARNList": [SHARE_ARN]},
    )  # fmt: skip

    def no_key(ip: str, region: str) -> str:
        raise AssertionError("an active gateway must not be activated again")

    assert set_up_gateway(client, plan, fetch_key=no_key, sleep=lambda seconds: None) == SHARE_ARN


def test_existing_share_is_given_the_on_prem_host(stubbed: tuple[Any, Stubber], plan: GatewayPlan) -> None:
    client, stubber = stubbed
    stubber.add_response("list_file_shares", {"FileShareInfoList": [{"FileShareARN": SHARE_ARN}]},
                         {"GatewayARN": GATEWAY_ARN})  # fmt: skip
    stubber.add_response(
        "describe_nfs_file_shares",
        {"NFSFileShareInfoList": [{"FileShareARN": SHARE_ARN, "LocationARN": f"arn:aws:s3:::{BUCKET}",
                                   "ClientList": ["203.0.113.0/24"]}]},
        {"FileShareARNList": [SHARE_ARN]},
    )  # fmt: skip
    stubber.add_response("update_nfs_file_share", {"FileShareARN": SHARE_ARN},
                         {"FileShareARN": SHARE_ARN, "ClientList": CLIENTS})  # fmt: skip
    assert gateway.create_file_share(client, GATEWAY_ARN, plan) == SHARE_ARN


def test_no_cache_and_no_free_disk_is_a_clear_error(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("describe_cache", {"GatewayARN": GATEWAY_ARN, "DiskIds": []}, {"GatewayARN": GATEWAY_ARN})
    stubber.add_response("list_local_disks", {"Disks": [{"DiskId": "root", "DiskAllocationType": "USED"}]},
                         {"GatewayARN": GATEWAY_ARN})  # fmt: skip
    with pytest.raises(GatewaySetupError, match="no cache and no free disk"):
        gateway.add_cache(client, GATEWAY_ARN)


def test_share_location_uses_the_session_partition(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    plan = plan_from_outputs("skp", "cn-north-1", "aws-cn", OUTPUTS, "203.0.113.0/24")
    assert plan.location_arn == f"arn:aws-cn:s3:::{BUCKET}"
    stubber.add_response("list_file_shares", {"FileShareInfoList": []}, {"GatewayARN": GATEWAY_ARN})
    stubber.add_response("create_nfs_file_share", {"FileShareARN": SHARE_ARN},
                         _share_request(location=f"arn:aws-cn:s3:::{BUCKET}"))  # fmt: skip
    assert gateway.create_file_share(client, GATEWAY_ARN, plan) == SHARE_ARN


def test_wait_gives_up_with_the_last_state(stubbed: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch) -> None:
    client, stubber = stubbed
    monkeypatch.setattr(gateway, "WAIT_STEPS", 3)
    for _ in range(3):
        _not_connected(stubber)
    sleeps: list[float] = []
    with pytest.raises(GatewayTimeoutError, match=r"not running after 3 checks .*last state: not connected"):
        wait_until_running(client, GATEWAY_ARN, sleep=sleeps.append)
    assert len(sleeps) == 2


def test_wait_does_not_swallow_other_errors(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("describe_gateway_information", service_error_code="InvalidGatewayRequestException",
                             service_message="The specified gateway was not found.",
                             modeled_fields={"error": {"errorCode": "GatewayNotFound"}})  # fmt: skip
    with pytest.raises(Exception, match="not found"):
        wait_until_running(client, GATEWAY_ARN, sleep=lambda seconds: None)


class _KeyHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"{KEY}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_activation_key_request_is_retried_until_the_appliance_listens() -> None:
    # A real HTTP exchange: the first request meets a closed port (connection refused, as a
    # booting appliance answers); the "sleep" between tries starts the appliance.
    server = http.server.HTTPServer(("127.0.0.1", 0), _KeyHandler)
    address = f"127.0.0.1:{server.server_address[1]}"
    server.server_close()
    sleeps: list[float] = []

    def boot_appliance(seconds: float) -> None:
        nonlocal server
        sleeps.append(seconds)
        if len(sleeps) == 2:
            host, port = address.split(":")
            server = http.server.HTTPServer((host, int(port)), _KeyHandler)
            threading.Thread(target=server.serve_forever, daemon=True).start()

    try:
        assert fetch_activation_key(address, "eu-west-1", sleep=boot_appliance) == KEY
    finally:
        server.shutdown()
        server.server_close()
    assert sleeps == [gateway.ACTIVATION_RETRY_S, gateway.ACTIVATION_RETRY_S]


def test_activation_key_request_gives_up_after_bounded_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway, "ACTIVATION_ATTEMPTS", 4)
    calls: list[str] = []

    def timing_out(url: str, timeout: float) -> Any:
        calls.append(url)
        raise URLError(TimeoutError("timed out"))

    sleeps: list[float] = []
    with pytest.raises(GatewayTimeoutError, match="did not answer on port 80 after 4 tries"):
        fetch_activation_key("198.51.100.7", "eu-west-1", open_url=timing_out, sleep=sleeps.append)
    assert len(calls) == 4
    assert len(sleeps) == 3


def test_activation_key_request_does_not_retry_a_refusal() -> None:
    def bad_request(url: str, timeout: float) -> Any:
        raise HTTPError(url, 400, "Bad Request", hdrs=None, fp=None)  # type: ignore[arg-type]

    with pytest.raises(GatewaySetupError, match="HTTP 400"):
        fetch_activation_key("198.51.100.7", "eu-west-1", open_url=bad_request, sleep=lambda seconds: None)


def test_activation_key_is_read_from_body_or_redirect() -> None:
    assert activation_key_from(f"{KEY}\n") == KEY
    redirect = "https://console.aws.amazon.com/storagegateway/home?activationKey=KEY12-34567&region=eu-west-1"
    assert activation_key_from("", redirect) == "KEY12-34567"
    with pytest.raises(GatewaySetupError, match="activation key"):
        activation_key_from("<html>Bad gateway</html>")
    assert activation_url("198.51.100.7", "eu-west-1") == "http://198.51.100.7/?activationRegion=eu-west-1&no_redirect="


def test_plan_names_missing_outputs() -> None:
    outputs = {name: value for name, value in OUTPUTS.items() if not name.startswith("OnPrem")}
    with pytest.raises(GatewaySetupError, match="no output OnPremFstabEntry, OnPremPrivateIp: run make deploy"):
        plan_from_outputs("skp", "eu-west-1", "aws", outputs, "203.0.113.0/24")


def test_share_admits_the_client_network_and_the_on_prem_private_address(plan: GatewayPlan) -> None:
    assert plan.client_list == CLIENTS


def test_printed_mount_command_is_the_hosts_fstab_line(plan: GatewayPlan) -> None:
    assert mount_command(FSTAB) == f"mount -t nfs -o nolock,hard 10.0.1.25:/{BUCKET} /mnt/hit_data"
    printed = ready_lines(plan, SHARE_ARN)
    assert printed[0] == f"NFS share ready: {SHARE_ARN} (clients: 10.0.1.40/32, 203.0.113.0/24)"
    assert printed[2:] == [f"  {FSTAB}", f"to mount it by hand there: sudo {mount_command(FSTAB)}"]

"""`make gateway` against a stubbed Storage Gateway API (botocore Stubber): the calls, in order."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy.gateway import (
    GatewayPlan,
    activation_key_from,
    activation_url,
    plan_from_outputs,
    set_up_gateway,
)

GATEWAY_ARN = "arn:aws:storagegateway:eu-west-1:111122223333:gateway/sgw-12A3456B"
SHARE_ARN = "arn:aws:storagegateway:eu-west-1:111122223333:share/share-ABCD1234"
LOCATION = "arn:aws:s3:::skp-inbound-111122223333-eu-west-1"
OUTPUTS = {
    "FileGatewayPublicIp": "198.51.100.7",
    "FileGatewayInstanceId": "i-0abc",
    "FileShareRoleArn": "arn:aws:iam::111122223333:role/skp-FileShareRole",
    "InboundBucketName": "skp-inbound-111122223333-eu-west-1",
}


@pytest.fixture
def plan() -> GatewayPlan:
    return plan_from_outputs("skp", "eu-west-1", OUTPUTS, "203.0.113.0/24")


@pytest.fixture
def stubbed() -> Iterator[tuple[object, Stubber]]:
    client = boto3.client("storagegateway", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_fresh_gateway_is_activated_cached_and_shared(stubbed: tuple[object, Stubber], plan: GatewayPlan) -> None:
    client, stubber = stubbed
    stubber.add_response("list_gateways", {"Gateways": []})
    stubber.add_response(
        "activate_gateway",
        {"GatewayARN": GATEWAY_ARN},
        {"ActivationKey": "ABCDE-12345-FGHIJ-67890-KLMNO", "GatewayName": "skp-file-gateway", "GatewayTimezone": "GMT",
         "GatewayRegion": "eu-west-1", "GatewayType": "FILE_S3"},
    )  # fmt: skip
    stubber.add_response("describe_gateway_information", {"GatewayState": "OFFLINE"}, {"GatewayARN": GATEWAY_ARN})
    stubber.add_response("describe_gateway_information", {"GatewayState": "RUNNING"}, {"GatewayARN": GATEWAY_ARN})
    stubber.add_response(
        "list_local_disks",
        {"Disks": [{"DiskId": "root", "DiskAllocationType": "USED"},
                   {"DiskId": "pci-0000:00:1f.0-nvme-1", "DiskAllocationType": "AVAILABLE"}]},
        {"GatewayARN": GATEWAY_ARN},
    )  # fmt: skip
    stubber.add_response("add_cache", {"GatewayARN": GATEWAY_ARN},
                         {"GatewayARN": GATEWAY_ARN, "DiskIds": ["pci-0000:00:1f.0-nvme-1"]})  # fmt: skip
    stubber.add_response("list_file_shares", {"FileShareInfoList": []}, {"GatewayARN": GATEWAY_ARN})
    stubber.add_response(
        "create_nfs_file_share",
        {"FileShareARN": SHARE_ARN},
        {"ClientToken": ANY, "GatewayARN": GATEWAY_ARN, "Role": OUTPUTS["FileShareRoleArn"],
         "LocationARN": f"arn:aws:s3:::{OUTPUTS['InboundBucketName']}", "DefaultStorageClass": "S3_STANDARD",
         "ClientList": ["203.0.113.0/24"], "Squash": "RootSquash", "ReadOnly": False, "KMSEncrypted": False,
         "FileShareName": OUTPUTS["InboundBucketName"]},
    )  # fmt: skip
    sleeps: list[float] = []
    share = set_up_gateway(
        client, plan, fetch_key=lambda ip, region: "ABCDE-12345-FGHIJ-67890-KLMNO", sleep=sleeps.append
    )
    assert share == SHARE_ARN
    assert sleeps == [10]


def test_second_run_keeps_the_gateway_and_share(stubbed: tuple[object, Stubber], plan: GatewayPlan) -> None:
    client, stubber = stubbed
    stubber.add_response("list_gateways", {"Gateways": [{"GatewayARN": GATEWAY_ARN, "Ec2InstanceId": "i-0abc"}]})
    stubber.add_response("describe_gateway_information", {"GatewayState": "RUNNING"}, {"GatewayARN": GATEWAY_ARN})
    stubber.add_response("list_local_disks", {"Disks": [{"DiskId": "d1", "DiskAllocationType": "CACHE STORAGE"}]},
                         {"GatewayARN": GATEWAY_ARN})  # fmt: skip
    stubber.add_response("list_file_shares", {"FileShareInfoList": [{"FileShareARN": SHARE_ARN}]},
                         {"GatewayARN": GATEWAY_ARN})  # fmt: skip
    stubber.add_response(
        "describe_nfs_file_shares",
        {"NFSFileShareInfoList": [{"FileShareARN": SHARE_ARN, "LocationARN": LOCATION}]},
        {"FileShareARNList": [SHARE_ARN]},
    )  # fmt: skip

    def no_key(ip: str, region: str) -> str:
        raise AssertionError("an active gateway must not be activated again")

    assert set_up_gateway(client, plan, fetch_key=no_key, sleep=lambda seconds: None) == SHARE_ARN


def test_activation_key_is_read_from_body_or_redirect() -> None:
    assert activation_key_from("ABCDE-12345-FGHIJ-67890-KLMNO\n") == "ABCDE-12345-FGHIJ-67890-KLMNO"
    redirect = "https://console.aws.amazon.com/storagegateway/home?activationKey=KEY12-34567&region=eu-west-1"
    assert activation_key_from("", redirect) == "KEY12-34567"
    with pytest.raises(RuntimeError, match="activation key"):
        activation_key_from("<html>Bad gateway</html>")
    assert activation_url("198.51.100.7", "eu-west-1") == "http://198.51.100.7/?activationRegion=eu-west-1&no_redirect="

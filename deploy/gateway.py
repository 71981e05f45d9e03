"""Set up the S3 File Gateway that CloudFormation cannot: activate it, add its cache disk, and
create the NFS file share onto the inbound bucket for the client network.

    python -m deploy.gateway --stack STACK --client-cidr 203.0.113.0/24 [--region REGION]

Reads the gateway's address, the file share role and the inbound bucket from stack 2's outputs.
Idempotent where AWS allows: an activated gateway, an allocated cache and an existing share for
the bucket are found and kept.
"""

from __future__ import annotations

import argparse
import logging
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

log = logging.getLogger(__name__)

ACTIVATION_TIMEOUT_S: Final = 10
WAIT_STEP_S: Final = 10
WAIT_STEPS: Final = 60


@dataclass(frozen=True, slots=True)
class GatewayPlan:
    """What the file share needs, read from stack 2."""

    stack: str
    region: str
    gateway_ip: str
    gateway_instance_id: str
    file_share_role_arn: str
    inbound_bucket: str
    client_cidr: str

    @property
    def gateway_name(self) -> str:
        """The gateway's name in Storage Gateway."""
        return f"{self.stack}-file-gateway"


def plan_from_outputs(stack: str, region: str, outputs: Mapping[str, str], client_cidr: str) -> GatewayPlan:
    """Pick the gateway inputs out of stack 2's outputs."""
    return GatewayPlan(
        stack=stack,
        region=region,
        gateway_ip=outputs["FileGatewayPublicIp"],
        gateway_instance_id=outputs["FileGatewayInstanceId"],
        file_share_role_arn=outputs["FileShareRoleArn"],
        inbound_bucket=outputs["InboundBucketName"],
        client_cidr=client_cidr,
    )


def activation_url(gateway_ip: str, region: str) -> str:
    """The appliance's activation page; `no_redirect` makes it answer with the key itself."""
    return f"http://{gateway_ip}/?{urlencode({'activationRegion': region, 'no_redirect': ''})}"


def activation_key_from(response_text: str, redirect_location: str | None = None) -> str:
    """The activation key: the body with `no_redirect`, or the `activationKey` of a redirect."""
    if redirect_location:
        keys = parse_qs(urlsplit(redirect_location).query).get("activationKey")
        if keys:
            return keys[0]
    key = response_text.strip()
    if not key or " " in key or len(key) > 64:
        raise RuntimeError(f"the gateway did not answer with an activation key: {response_text[:80]!r}")
    return key


def fetch_activation_key(gateway_ip: str, region: str) -> str:
    """Ask the appliance for its activation key over HTTP (port 80, from the client network)."""
    with urllib.request.urlopen(activation_url(gateway_ip, region), timeout=ACTIVATION_TIMEOUT_S) as response:
        return activation_key_from(response.read().decode("ascii", errors="replace"))


def find_gateway(storagegateway: Any, instance_id: str) -> str | None:
    """The ARN of a gateway already activated on this instance, if any."""
    for page in storagegateway.get_paginator("list_gateways").paginate():
        for gateway in page["Gateways"]:
            if gateway.get("Ec2InstanceId") == instance_id:
                return str(gateway["GatewayARN"])
    return None


def activate(storagegateway: Any, plan: GatewayPlan, fetch_key: Callable[[str, str], str]) -> str:
    """Activate the appliance as a FILE_S3 gateway, unless it already is; return its ARN."""
    existing = find_gateway(storagegateway, plan.gateway_instance_id)
    if existing:
        log.info("gateway already active: %s", existing)
        return existing
    key = fetch_key(plan.gateway_ip, plan.region)
    response = storagegateway.activate_gateway(
        ActivationKey=key,
        GatewayName=plan.gateway_name,
        GatewayTimezone="GMT",
        GatewayRegion=plan.region,
        GatewayType="FILE_S3",
    )
    return str(response["GatewayARN"])


def wait_until_running(storagegateway: Any, gateway_arn: str, sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait for the gateway to report RUNNING after activation."""
    for _ in range(WAIT_STEPS):
        state = storagegateway.describe_gateway_information(GatewayARN=gateway_arn).get("GatewayState")
        if state == "RUNNING":
            return
        sleep(WAIT_STEP_S)
    raise RuntimeError(f"gateway {gateway_arn} is not running after {WAIT_STEPS * WAIT_STEP_S} s")


def add_cache(storagegateway: Any, gateway_arn: str) -> list[str]:
    """Give every unallocated local disk to the cache; return the disk ids added."""
    disks = storagegateway.list_local_disks(GatewayARN=gateway_arn)["Disks"]
    free = [disk["DiskId"] for disk in disks if disk.get("DiskAllocationType") == "AVAILABLE"]
    if free:
        storagegateway.add_cache(GatewayARN=gateway_arn, DiskIds=free)
    elif not any(disk.get("DiskAllocationType") == "CACHE STORAGE" for disk in disks):
        raise RuntimeError(f"gateway {gateway_arn} has no disk for its cache")
    return free


def create_file_share(storagegateway: Any, gateway_arn: str, plan: GatewayPlan) -> str:
    """Create the NFS share onto the inbound bucket for the client network, unless it exists."""
    location = f"arn:aws:s3:::{plan.inbound_bucket}"
    shares = storagegateway.list_file_shares(GatewayARN=gateway_arn).get("FileShareInfoList", [])
    if shares:
        arns = [share["FileShareARN"] for share in shares]
        described = storagegateway.describe_nfs_file_shares(FileShareARNList=arns)["NFSFileShareInfoList"]
        for share in described:
            if share.get("LocationARN") == location:
                return str(share["FileShareARN"])
    response = storagegateway.create_nfs_file_share(
        ClientToken=f"{plan.stack}-inbound-share",
        GatewayARN=gateway_arn,
        Role=plan.file_share_role_arn,
        LocationARN=location,
        DefaultStorageClass="S3_STANDARD",
        ClientList=[plan.client_cidr],
        Squash="RootSquash",
        ReadOnly=False,
        KMSEncrypted=False,
        FileShareName=plan.inbound_bucket,
    )
    return str(response["FileShareARN"])


def set_up_gateway(
    storagegateway: Any,
    plan: GatewayPlan,
    fetch_key: Callable[[str, str], str] = fetch_activation_key,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Activate, add cache, create the share; return the share's ARN."""
    gateway_arn = activate(storagegateway, plan, fetch_key)
    wait_until_running(storagegateway, gateway_arn, sleep)
    add_cache(storagegateway, gateway_arn)
    return create_file_share(storagegateway, gateway_arn, plan)


def main() -> None:
    """Command line: read stack 2, then set the gateway up."""
    import boto3

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, help="stack 2's name")
    parser.add_argument("--client-cidr", required=True, help="the network allowed to mount the share")
    parser.add_argument("--region", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    session = boto3.session.Session(region_name=args.region)
    stack = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    plan = plan_from_outputs(args.stack, session.region_name, outputs, args.client_cidr)
    share = set_up_gateway(session.client("storagegateway"), plan)
    print(f"NFS share ready: {share}")
    print(f"mount on the client: mount -t nfs -o nolock,hard {plan.gateway_ip}:/{plan.inbound_bucket} /mnt/hit_data")


if __name__ == "__main__":
    main()

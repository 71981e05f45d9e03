"""Set up the S3 File Gateway that CloudFormation cannot: activate it, add its cache disk, and
create the NFS file share onto the inbound bucket for the client network and the on-premises host.

    python -m deploy.gateway --stack STACK --client-cidr 203.0.113.0/24 [--region REGION]

Reads the gateway's address, the file share role, the inbound bucket and the on-premises host
from stack 2's outputs. Idempotent where AWS allows: an activated gateway, an allocated cache and
an existing share for the bucket are found and kept (a share missing a client is given it).
Every wait is bounded and ends in a GatewayTimeoutError that says what did not happen.
"""

from __future__ import annotations

import argparse
import logging
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlencode, urlsplit

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

ACTIVATION_TIMEOUT_S: Final = 10
# The appliance answers on port 80 only minutes after its instance is running.
ACTIVATION_RETRY_S: Final = 15
ACTIVATION_ATTEMPTS: Final = 60
WAIT_STEP_S: Final = 10
WAIT_STEPS: Final = 60
NOT_CONNECTED: Final = "GatewayNotConnected"
# fstab options that only mount(8) and systemd read; the NFS client takes the rest.
_FSTAB_ONLY_OPTIONS: Final = frozenset({"_netdev", "nofail", "auto", "noauto", "defaults"})


_PLAN_OUTPUTS: Final = ("FileGatewayPublicIp", "FileGatewayInstanceId", "FileShareRoleArn", "InboundBucketName",
                         "OnPremPrivateIp", "OnPremFstabEntry")  # fmt: skip


class GatewaySetupError(RuntimeError):
    """`make gateway` cannot go on: the message names the step and the value that stopped it."""


class GatewayTimeoutError(GatewaySetupError):
    """A bounded wait ran out before the gateway answered, connected or ran."""


@dataclass(frozen=True, slots=True)
class GatewayPlan:
    """What the file share needs, read from stack 2."""

    stack: str
    region: str
    partition: str
    gateway_ip: str
    gateway_instance_id: str
    file_share_role_arn: str
    inbound_bucket: str
    client_cidr: str
    on_prem_private_ip: str
    on_prem_fstab_entry: str

    @property
    def gateway_name(self) -> str:
        """The gateway's name in Storage Gateway."""
        return f"{self.stack}-file-gateway"

    @property
    def location_arn(self) -> str:
        """The inbound bucket's ARN in the session's partition (aws, aws-cn, aws-us-gov)."""
        return f"arn:{self.partition}:s3:::{self.inbound_bucket}"

    @property
    def client_list(self) -> list[str]:
        """Who may mount: the client network, and the on-premises host by its private address,
        which is what the gateway sees when the host mounts the gateway's private address."""
        return sorted({self.client_cidr, f"{self.on_prem_private_ip}/32"})


def plan_from_outputs(
    stack: str, region: str, partition: str, outputs: Mapping[str, str], client_cidr: str
) -> GatewayPlan:
    """Pick the gateway inputs out of stack 2's outputs.

    Raises:
        GatewaySetupError: an output is missing (stack 2 not deployed, or deployed from an older template).
    """
    missing = sorted(set(_PLAN_OUTPUTS) - set(outputs))
    if missing:
        raise GatewaySetupError(f"stack {stack} has no output {', '.join(missing)}: run make deploy first")
    return GatewayPlan(
        stack=stack,
        region=region,
        partition=partition,
        gateway_ip=outputs["FileGatewayPublicIp"],
        gateway_instance_id=outputs["FileGatewayInstanceId"],
        file_share_role_arn=outputs["FileShareRoleArn"],
        inbound_bucket=outputs["InboundBucketName"],
        client_cidr=client_cidr,
        on_prem_private_ip=outputs["OnPremPrivateIp"],
        on_prem_fstab_entry=outputs["OnPremFstabEntry"],
    )


def mount_command(fstab_entry: str) -> str:
    """The one-off `mount` equivalent of an fstab line: same source, path, type and NFS options."""
    source, path, fs_type, options = fstab_entry.split()[:4]
    nfs_options = [o for o in options.split(",") if o not in _FSTAB_ONLY_OPTIONS and not o.startswith("x-")]
    return f"mount -t {fs_type} -o {','.join(nfs_options)} {source} {path}"


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
        raise GatewaySetupError(f"the gateway did not answer with an activation key: {response_text[:80]!r}")
    return key


def fetch_activation_key(
    gateway_ip: str,
    region: str,
    open_url: Callable[..., Any] = urllib.request.urlopen,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Ask the appliance for its activation key over HTTP (port 80, from the client network),
    retrying while it refuses, resets or times out: it is still booting.

    Raises:
        GatewayTimeoutError: no answer after ACTIVATION_ATTEMPTS tries.
        GatewaySetupError: the appliance answered with a client error or no key.
    """
    url = activation_url(gateway_ip, region)
    last_error: OSError | None = None
    for attempt in range(1, ACTIVATION_ATTEMPTS + 1):
        try:
            with open_url(url, timeout=ACTIVATION_TIMEOUT_S) as response:
                return activation_key_from(response.read().decode("ascii", errors="replace"))
        except HTTPError as err:
            if err.code < 500:
                raise GatewaySetupError(f"the gateway at {gateway_ip} refused activation: HTTP {err.code}") from err
            last_error = err
        except (URLError, OSError) as err:  # refused, unreachable, reset, timed out
            last_error = err
        log.info("gateway not answering on port 80 yet (try %s of %s): %s", attempt, ACTIVATION_ATTEMPTS, last_error)
        if attempt < ACTIVATION_ATTEMPTS:
            sleep(ACTIVATION_RETRY_S)
    raise GatewayTimeoutError(
        f"the gateway at {gateway_ip} did not answer on port 80 after {ACTIVATION_ATTEMPTS} tries "
        f"{ACTIVATION_RETRY_S} s apart (last error: {last_error}); run make gateway from the client network"
    )


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


def is_not_connected(err: ClientError) -> bool:
    """Tell whether Storage Gateway answered that the gateway has not connected (yet)."""
    detail = err.response.get("error", {})
    if isinstance(detail, dict) and detail.get("errorCode") == NOT_CONNECTED:
        return True
    return "not connected" in str(err.response.get("Error", {}).get("Message", "")).lower()


def wait_until_running(storagegateway: Any, gateway_arn: str, sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait for the gateway to connect and report RUNNING: right after ActivateGateway,
    DescribeGatewayInformation answers "The specified gateway is not connected"."""
    state = "unknown"
    for step in range(1, WAIT_STEPS + 1):
        try:
            state = storagegateway.describe_gateway_information(GatewayARN=gateway_arn).get("GatewayState", "unknown")
        except ClientError as err:
            if not is_not_connected(err):
                raise
            state = "not connected"
        if state == "RUNNING":
            return
        log.info("gateway %s: %s", gateway_arn, state)
        if step < WAIT_STEPS:
            sleep(WAIT_STEP_S)
    raise GatewayTimeoutError(
        f"gateway {gateway_arn} is not running after {WAIT_STEPS} checks {WAIT_STEP_S} s apart (last state: {state})"
    )


def add_cache(storagegateway: Any, gateway_arn: str) -> list[str]:
    """Give the unallocated local disks to the cache unless DescribeCache shows one; return the disks added."""
    if storagegateway.describe_cache(GatewayARN=gateway_arn).get("DiskIds"):
        return []
    disks = storagegateway.list_local_disks(GatewayARN=gateway_arn)["Disks"]
    free = [disk["DiskId"] for disk in disks if disk.get("DiskAllocationType") == "AVAILABLE"]
    if not free:
        seen = {disk["DiskId"]: disk.get("DiskAllocationType") for disk in disks}
        raise GatewaySetupError(f"gateway {gateway_arn} has no cache and no free disk for one: {seen}")
    storagegateway.add_cache(GatewayARN=gateway_arn, DiskIds=free)
    return free


def create_file_share(storagegateway: Any, gateway_arn: str, plan: GatewayPlan) -> str:
    """Create the NFS share onto the inbound bucket, unless it exists; admit every client of the plan."""
    shares = storagegateway.list_file_shares(GatewayARN=gateway_arn).get("FileShareInfoList", [])
    if shares:
        arns = [share["FileShareARN"] for share in shares]
        described = storagegateway.describe_nfs_file_shares(FileShareARNList=arns)["NFSFileShareInfoList"]
        for share in described:
            if share.get("LocationARN") == plan.location_arn:
                admitted = set(share.get("ClientList", []))
                if not admitted.issuperset(plan.client_list):
                    storagegateway.update_nfs_file_share(
                        FileShareARN=share["FileShareARN"], ClientList=sorted(admitted | set(plan.client_list))
                    )
                return str(share["FileShareARN"])
    response = storagegateway.create_nfs_file_share(
        ClientToken=f"{plan.stack}-inbound-share",
        GatewayARN=gateway_arn,
        Role=plan.file_share_role_arn,
        LocationARN=plan.location_arn,
        DefaultStorageClass="S3_STANDARD",
        ClientList=plan.client_list,
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


def ready_lines(plan: GatewayPlan, share_arn: str) -> list[str]:
    """What `make gateway` prints at the end: the share, its clients, and how the host mounts it."""
    return [
        f"NFS share ready: {share_arn} (clients: {', '.join(plan.client_list)})",
        "the on-premises host's /etc/fstab mounts it on first access:",
        f"  {plan.on_prem_fstab_entry}",
        f"to mount it by hand there: sudo {mount_command(plan.on_prem_fstab_entry)}",
    ]


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
    region = session.region_name
    stack = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    partition = session.get_partition_for_region(region)
    plan = plan_from_outputs(args.stack, region, partition, outputs, args.client_cidr)
    share = set_up_gateway(session.client("storagegateway"), plan)
    print("\n".join(ready_lines(plan, share)))


if __name__ == "__main__":
    main()

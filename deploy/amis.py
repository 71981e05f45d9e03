"""Pin the two hosts' AMI ids in the parameters file, once, at the first deploy.

    python -m deploy.amis pin   --params deploy/parameters.json [--stack STACK] [--region REGION]
    python -m deploy.amis check --params deploy/parameters.json

Stack 2 takes `FileGatewayAmiId` and `OnPremAmiId` as plain image ids: a "latest AMI" SSM
parameter would be resolved again on every update, and a newer image replaces the instance (the
gateway would lose its activation and any file not yet uploaded). `pin` fills in what the file
lacks: the ids stack 2 already runs, when it exists, else today's public "latest" images. Ids
already in the file are never changed. `check` (run by `make deploy`) refuses a file without them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from botocore.exceptions import ClientError

# Parameter of stack 2 -> the public SSM parameter holding the newest image of that kind.
LATEST_AMI_PARAMETERS: Final = {
    "FileGatewayAmiId": "/aws/service/storagegateway/ami/FILE_S3/latest",
    "OnPremAmiId": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
}
_AMI_ID: Final = re.compile(r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$")


class AmiParameterError(ValueError):
    """The parameters file lacks a pinned AMI id, or holds something that is not one."""


def missing_amis(parameters: Mapping[str, Any]) -> list[str]:
    """The AMI parameters without a plain image id in the parameters file."""
    return [name for name in LATEST_AMI_PARAMETERS if not _AMI_ID.match(str(parameters.get(name, "")))]


def check_pinned(parameters: Mapping[str, Any], params_path: str) -> None:
    """Refuse parameters without pinned AMI ids, saying how to pin them.

    Raises:
        AmiParameterError: naming each missing or invalid parameter and its value.
    """
    missing = missing_amis(parameters)
    if missing:
        found = ", ".join(f"{name}={parameters.get(name, '')!r}" for name in missing)
        raise AmiParameterError(
            f"{params_path}: no pinned AMI id for {found}; run once: make amis PARAMS={params_path} STACK=<stack> "
            "(it writes the ids into the file; keep them there, and in the CI parameters secret)"
        )


def deployed_amis(cloudformation: Any, stack: str) -> dict[str, str]:
    """The AMI ids stack 2 runs now ({} when it does not exist yet)."""
    try:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as err:
        if "does not exist" in str(err.response.get("Error", {}).get("Message", "")):
            return {}
        raise
    found: dict[str, str] = {}
    for parameter in described.get("Parameters", []):
        # A stack deployed with the SSM-typed parameters reports the image in ResolvedValue.
        value = parameter.get("ResolvedValue") or parameter.get("ParameterValue", "")
        if parameter["ParameterKey"] in LATEST_AMI_PARAMETERS and _AMI_ID.match(value):
            found[parameter["ParameterKey"]] = value
    return found


def latest_amis(ssm: Any) -> dict[str, str]:
    """Today's newest public images for both hosts."""
    return {
        name: str(ssm.get_parameter(Name=path)["Parameter"]["Value"]) for name, path in LATEST_AMI_PARAMETERS.items()
    }


def pin_amis(parameters: Mapping[str, Any], cloudformation: Any, ssm: Any, stack: str | None) -> dict[str, Any]:
    """The parameters with both AMI ids filled in; ids already present are kept as they are."""
    missing = missing_amis(parameters)
    if not missing:
        return dict(parameters)
    found = deployed_amis(cloudformation, stack) if stack else {}
    if any(name not in found for name in missing):
        found = latest_amis(ssm) | found
    return dict(parameters) | {name: found[name] for name in missing}


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("pin", "check"))
    parser.add_argument("--params", required=True, help="stack 2's parameters file (flat JSON)")
    parser.add_argument("--stack", default=None, help="stack 2's name: an existing stack keeps its images")
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    path = Path(args.params)
    if not path.is_file():
        print(f"no parameters file {path}: copy deploy/parameters.example.json and fill it in", file=sys.stderr)
        return 1
    parameters = json.loads(path.read_text(encoding="utf-8"))
    if args.command == "check":
        try:
            check_pinned(parameters, args.params)
        except AmiParameterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        return 0
    import boto3

    session = boto3.session.Session(region_name=args.region)
    pinned = pin_amis(parameters, session.client("cloudformation"), session.client("ssm"), args.stack)
    path.write_text(json.dumps(pinned, indent=2) + "\n", encoding="utf-8")
    for name in LATEST_AMI_PARAMETERS:
        print(f"{name}={pinned[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make amis` pins both hosts' images once; `make deploy` refuses parameters without them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from deploy.amis import LATEST_AMI_PARAMETERS, AmiParameterError, check_pinned, main, pin_amis
from tests.conftest import ROOT
from tests.templates.cfn import load_template

GATEWAY_AMI = "ami-0a1b2c3d4e5f60718"
ON_PREM_AMI = "ami-0f1e2d3c4b5a69788"
SSM_NAME = LATEST_AMI_PARAMETERS["OnPremAmiId"]
NETWORK = {"VpcId": "vpc-1", "SubnetId": "subnet-1", "OnPremCidr": "203.0.113.0/24"}


@pytest.fixture
def clients() -> Iterator[tuple[Any, Stubber, Any, Stubber]]:
    keys = {"region_name": "eu-west-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    cloudformation, ssm = boto3.client("cloudformation", **keys), boto3.client("ssm", **keys)
    with Stubber(cloudformation) as cfn_stub, Stubber(ssm) as ssm_stub:
        yield cloudformation, cfn_stub, ssm, ssm_stub
        cfn_stub.assert_no_pending_responses()
        ssm_stub.assert_no_pending_responses()


def _latest(ssm_stub: Stubber) -> None:
    for name, value in (("FileGatewayAmiId", GATEWAY_AMI), ("OnPremAmiId", ON_PREM_AMI)):
        ssm_stub.add_response("get_parameter", {"Parameter": {"Name": LATEST_AMI_PARAMETERS[name], "Value": value}},
                              {"Name": LATEST_AMI_PARAMETERS[name]})  # fmt: skip


def test_stack_2_takes_the_amis_as_plain_parameters_without_a_default() -> None:
    parameters = load_template("cf_app_infra_stack_2.yml")["Parameters"]
    for name in LATEST_AMI_PARAMETERS:
        assert parameters[name]["Type"] == "AWS::EC2::Image::Id"
        assert "Default" not in parameters[name]


def test_first_deploy_pins_todays_latest_images(clients: tuple[Any, Stubber, Any, Stubber]) -> None:
    cloudformation, cfn_stub, ssm, ssm_stub = clients
    cfn_stub.add_client_error("describe_stacks", service_error_code="ValidationError",
                              service_message="Stack with id skp does not exist")  # fmt: skip
    _latest(ssm_stub)
    pinned = pin_amis(NETWORK, cloudformation, ssm, "skp")
    assert pinned == NETWORK | {"FileGatewayAmiId": GATEWAY_AMI, "OnPremAmiId": ON_PREM_AMI}


def test_existing_stack_keeps_the_images_it_runs(clients: tuple[Any, Stubber, Any, Stubber]) -> None:
    cloudformation, cfn_stub, ssm, _ = clients
    # Deployed with the SSM-typed parameters: the image it runs is the ResolvedValue.
    stack = {"StackName": "skp", "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "UPDATE_COMPLETE",
             "Parameters": [
                 {"ParameterKey": "FileGatewayAmiId", "ParameterValue": LATEST_AMI_PARAMETERS["FileGatewayAmiId"],
                  "ResolvedValue": GATEWAY_AMI},
                 {"ParameterKey": "OnPremAmiId", "ParameterValue": ON_PREM_AMI},
                 {"ParameterKey": "VpcId", "ParameterValue": "vpc-1"}]}  # fmt: skip
    cfn_stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "skp"})
    assert pin_amis(NETWORK, cloudformation, ssm, "skp") == NETWORK | {
        "FileGatewayAmiId": GATEWAY_AMI,
        "OnPremAmiId": ON_PREM_AMI,
    }


def test_pinned_ids_are_never_changed(clients: tuple[Any, Stubber, Any, Stubber]) -> None:
    cloudformation, _, ssm, _ = clients
    pinned = NETWORK | {"FileGatewayAmiId": GATEWAY_AMI, "OnPremAmiId": ON_PREM_AMI}
    assert pin_amis(pinned, cloudformation, ssm, "skp") == pinned  # no AWS call at all


@pytest.mark.parametrize(
    "parameters",
    [
        pytest.param(NETWORK, id="missing"),
        pytest.param(NETWORK | {"FileGatewayAmiId": GATEWAY_AMI, "OnPremAmiId": SSM_NAME}, id="ssm-name"),
    ],
)
def test_check_refuses_parameters_without_pinned_amis(parameters: dict[str, str]) -> None:
    with pytest.raises(AmiParameterError, match=r"OnPremAmiId=.*make amis PARAMS=p\.json"):
        check_pinned(parameters, "p.json")


def test_check_command_exits_1_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = tmp_path / "parameters.json"
    params.write_text(json.dumps(NETWORK))
    assert main(["check", "--params", str(params)]) == 1
    assert "run once: make amis" in capsys.readouterr().err
    params.write_text(json.dumps(NETWORK | {"FileGatewayAmiId": GATEWAY_AMI, "OnPremAmiId": ON_PREM_AMI}))
    assert main(["check", "--params", str(params)]) == 0


def test_make_deploy_checks_the_amis_before_deploying() -> None:
    command = ["make", "-n", "deploy", "STACK=skp", "PARAMS=p.json", f"PYTHON={sys.executable}"]
    printed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout
    dry_run = printed.splitlines()
    check = next(i for i, line in enumerate(dry_run) if "deploy.amis check --params p.json" in line)
    deploy = next(i for i, line in enumerate(dry_run) if "deploy/deploy.sh skp p.json" in line)
    assert check < deploy

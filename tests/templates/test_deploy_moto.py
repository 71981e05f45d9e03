"""Deploy both stacks to moto's CloudFormation and check the resources moto supports exist.

moto skips AWS::Glue::Job, AWS::SNS::Subscription, bucket and queue policies, the alarm, the
event-invoke configs and the separate egress rule, and ignores some bucket properties (versioning);
those are checked from the template in test_stack_wiring.py and test_iam.py.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tests.lambdas.conftest import FAKE_AWS_ENV
from tests.templates.cfn import TEMPLATES, load_template, template_for_moto


def _zip_of(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(
            StackName="skp-artifacts", TemplateBody=(TEMPLATES / "cf_app_infra_stack_1.yml").read_text()
        )
        outputs = cloudformation.describe_stacks(StackName="skp-artifacts")["Stacks"][0]["Outputs"]
        artifacts = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ArtifactBucketName")
        s3 = boto3.client("s3")
        s3.put_object(
            Bucket=artifacts, Key="lambda/lambda_glue_job_trigger.zip", Body=_zip_of("lambda_glue_job_trigger.py")
        )
        for handler in ("lambda_glue_failure_notification", "lambda_glue_run_ledger", "lambda_glue_retry"):
            s3.put_object(Bucket=artifacts, Key=f"lambda/{handler}.zip", Body=_zip_of(f"{handler}.py"))
        ec2 = boto3.client("ec2")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
        parameters = {"ArtifactBucketName": artifacts, "VpcId": vpc, "SubnetId": subnet, "OnPremCidr": "203.0.113.0/24",
                      "AlertEmail": "ops@example.com", "FileGatewayAmiId": image,
                      "OnPremAmiId": image}  # fmt: skip
        cloudformation.create_stack(
            StackName="skp",
            TemplateBody=json.dumps(template_for_moto(load_template("cf_app_infra_stack_2.yml"))),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cloudformation.describe_stacks(StackName="skp")["Stacks"][0]
        yield {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])} | {"status": stack["StackStatus"]}


def test_stack_2_deploys_with_its_resources(deployed: dict[str, str]) -> None:
    assert deployed["status"] == "CREATE_COMPLETE"
    s3 = boto3.client("s3")
    for output in ("InboundBucketName", "OutboundBucketName"):
        bucket = deployed[output]
        assert bucket.startswith("skp-")
        s3.head_bucket(Bucket=bucket)  # exists; moto ignores its versioning, checked from the template
    functions = {f["FunctionName"]: f for f in boto3.client("lambda").list_functions()["Functions"]}
    assert functions["skp-trigger"]["Runtime"] == "python3.13"
    assert functions["skp-trigger"]["Environment"]["Variables"]["DATA_SUFFIXES"] == ".tsv,.tsv.gz,.tsv.bz2"
    assert "skp-glue-failure-notification" in functions
    topics = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
    assert deployed["AlertTopicArn"] in topics
    queues = boto3.client("sqs").list_queues()["QueueUrls"]
    assert any(url.endswith("skp-trigger-failed-events") for url in queues)
    assert any(url.endswith("skp-alert-failed-events") for url in queues)
    rules = boto3.client("events").list_rules()["Rules"]
    assert any("GlueFailureRule" in rule["Name"] or rule.get("EventPattern") for rule in rules)
    reservations = boto3.client("ec2").describe_instances()["Reservations"]
    names = {
        tag["Value"] for r in reservations for i in r["Instances"] for tag in i.get("Tags", []) if tag["Key"] == "Name"
    }
    assert {"skp-file-gateway", "skp-on-prem-server"} <= names
    roles = {role["RoleName"] for role in boto3.client("iam").list_roles()["Roles"]}
    assert sum(1 for role in roles if role.startswith("skp-")) == 6
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    assert deployed["RunLedgerTableName"] in tables
    # The hosts' outputs resolve: Elastic IPs, and the share's fstab line on the gateway's private address.
    addresses = {a["PublicIp"]: a.get("InstanceId") for a in boto3.client("ec2").describe_addresses()["Addresses"]}
    assert addresses[deployed["FileGatewayPublicIp"]] == deployed["FileGatewayInstanceId"]
    share = f"{deployed['FileGatewayPrivateIp']}:/{deployed['InboundBucketName']}"
    assert deployed["OnPremFstabEntry"].startswith(f"{share} ")

"""IAM on the local endpoint: what moto enforces once it is switched on, and how the flow reads it."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_flow.endpoint import local_aws_endpoint
from local_flow.iam import (
    LAMBDA_SERVICE,
    DenialLog,
    access_denial,
    admin_credentials,
    checkable_policy,
    denial_in_error,
    enforce_iam,
    role_session,
    trusts_service,
)

JOB_ARN = "arn:aws:glue:us-east-1:123456789012:job/the-job"
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": LAMBDA_SERVICE}, "Action": "sts:AssumeRole"}]}  # fmt: skip


def test_checkable_policy_widens_only_services_moto_cannot_check_by_resource() -> None:
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["glue:StartJobRun", "s3:GetObject"], "Resource": JOB_ARN},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:123456789012:q"},
        {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "Glue"}}},
        {"Effect": "Deny", "Action": "glue:DeleteJob", "Resource": JOB_ARN},
    ]}  # fmt: skip
    assert checkable_policy(document)["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": JOB_ARN},
        {"Effect": "Allow", "Action": ["glue:StartJobRun"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "arn:aws:sqs:us-east-1:123456789012:q"},
        {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*"},
        {"Effect": "Deny", "Action": "glue:DeleteJob", "Resource": JOB_ARN},
    ]


@pytest.mark.parametrize(
    ("service", "expected"),
    [pytest.param(LAMBDA_SERVICE, True, id="named"), pytest.param("glue.amazonaws.com", False, id="other-service")],
)
def test_trusts_service_reads_the_service_principal(service: str, expected: bool) -> None:
    assert trusts_service(LAMBDA_TRUST, service) is expected


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        pytest.param(403, "403", "<Error><Code>AccessDenied</Code><Message>User: arn:aws:sts::1:assumed-role/r/s "
                     "is not authorized to perform: glue:StartJobRun</Message></Error>",
                     "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: glue:StartJobRun",
                     id="moto-json-protocol"),
        pytest.param(403, "AccessDenied", "Access Denied", "AccessDenied: Access Denied", id="s3"),
        pytest.param(403, "403", "Forbidden", "403: Forbidden", id="s3-head"),
        pytest.param(400, "ConditionalCheckFailedException", "The conditional request failed", None, id="no-denial"),
    ],
)  # fmt: skip
def test_access_denial_tells_denials_from_other_errors(status: int, code: str, message: str,
                                                       expected: str | None) -> None:  # fmt: skip
    assert access_denial(status, code, message) == expected


def test_denial_in_error_reads_a_glue_error_line() -> None:
    line = ("boto3.exceptions.S3UploadFailedError: Failed to upload a.tab to b/a.tab: "
            "An error occurred (AccessDenied) when calling the PutObject operation: Access Denied")  # fmt: skip
    assert denial_in_error(line) == line.split(": ", 2)[2]
    assert denial_in_error("MissingColumnsError: s3://in/a.tsv: missing required columns: ip") is None


@dataclass(frozen=True)
class Enforced:
    """An endpoint with IAM enforced: its administrator, and a role allowed glue:GetJob on one job."""

    admin: boto3.Session
    role: boto3.Session
    denials: DenialLog
    template_policy: dict[str, Any]


@pytest.fixture
def enforced() -> Iterator[Enforced]:
    with local_aws_endpoint() as endpoint:
        # moto's state lives in this process, not in the server: start each test from none.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()
        keys = admin_credentials()
        admin = boto3.Session(aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")  # fmt: skip
        iam = admin.client("iam")
        trust = json.dumps(LAMBDA_TRUST)
        role_arn = iam.create_role(RoleName="job-reader", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        admin.client("glue").create_job(Name="the-job", Role=role_arn,
                                        Command={"Name": "glueetl", "ScriptLocation": "s3://b/s.py"})  # fmt: skip
        # As a template scopes it: to the job's ARN.
        policy = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": ["glue:GetJob"], "Resource": JOB_ARN}]}  # fmt: skip
        iam.put_role_policy(RoleName="job-reader", PolicyName="read-job", PolicyDocument=json.dumps(policy))
        denials = DenialLog()
        role = role_session("JobReader", role_arn, LAMBDA_TRUST, LAMBDA_SERVICE, denials)
        enforce_iam(endpoint)
        yield Enforced(admin, role, denials, policy)


def test_moto_denies_an_action_the_role_lacks_and_the_log_records_it(enforced: Enforced) -> None:
    with pytest.raises(ClientError):
        enforced.role.client("glue").start_job_run(JobName="the-job")
    assert [(denial.role, denial.where) for denial in enforced.denials.denials] == [("JobReader", "glue:StartJobRun")]
    assert "is not authorized to perform: glue:StartJobRun" in enforced.denials.denials[0].reason


def test_moto_matches_a_glue_grant_only_once_widened_to_every_resource(enforced: Enforced) -> None:
    """moto evaluates Glue calls against "*", which the template's job-scoped grant never matches."""
    glue = enforced.role.client("glue")
    with pytest.raises(ClientError):
        glue.get_job(JobName="the-job")
    widened = json.dumps(checkable_policy(enforced.template_policy))
    enforced.admin.client("iam").put_role_policy(RoleName="job-reader", PolicyName="read-job", PolicyDocument=widened)
    assert glue.get_job(JobName="the-job")["Job"]["Name"] == "the-job"
    with pytest.raises(ClientError):
        glue.start_job_run(JobName="the-job")  # still checked by action


def test_unknown_keys_are_refused_once_iam_is_enforced(enforced: Enforced) -> None:
    with pytest.raises(ClientError, match=r"InvalidClientTokenId|security token"):
        boto3.client("glue").get_jobs()  # the endpoint's dummy credentials
    assert enforced.admin.client("glue").get_jobs()["Jobs"]

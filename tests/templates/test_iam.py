"""Each role allows what its code calls and nothing broader (cf_templates/iam_calls.json)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.templates.cfn import TEMPLATES, load_template, resources_of_type

STACK_2 = load_template("cf_app_infra_stack_2.yml")
CALLS: dict[str, Any] = {
    role: entry for role, entry in json.loads((TEMPLATES / "iam_calls.json").read_text()).items() if role != "_about"
}
ROOT = TEMPLATES.parent
# boto3 client variables in our code, and the IAM service prefix of each.
CLIENT_SERVICES = {"glue": "glue", "sns": "sns", "s3": "s3", "sqs": "sqs"}
_CALL = re.compile(r"\b(glue|sns|s3|sqs)\.([a-z_]+)\(")


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement for policy in role["Properties"]["Policies"] for statement in policy["PolicyDocument"]["Statement"]
    ]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_every_role_is_listed() -> None:
    assert set(resources_of_type(STACK_2, "AWS::IAM::Role")) == set(CALLS)


@pytest.mark.parametrize("role_name", sorted(CALLS))
def test_role_grants_exactly_the_listed_actions(role_name: str) -> None:
    statements = _statements(STACK_2["Resources"][role_name])
    granted = {action for statement in statements for action in _as_list(statement["Action"])}
    assert granted == set(CALLS[role_name]["actions"])
    assert all(statement["Effect"] == "Allow" for statement in statements)
    assert not any("*" in action for action in granted)


@pytest.mark.parametrize("role_name", sorted(CALLS))
def test_role_resources_are_named(role_name: str) -> None:
    for statement in _statements(STACK_2["Resources"][role_name]):
        if statement["Resource"] == "*":
            # Only where the service has no resource-level permissions, and then narrowed by a condition.
            assert statement["Action"] == ["cloudwatch:PutMetricData"]
            assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}


@pytest.mark.parametrize("role_name", sorted(CALLS))
def test_every_call_in_the_code_is_allowed(role_name: str) -> None:
    allowed = set(CALLS[role_name]["actions"])
    for path in CALLS[role_name]["code"]:
        for client, method in _CALL.findall((ROOT / path).read_text()):
            action = f"{CLIENT_SERVICES[client]}:{''.join(part.title() for part in method.split('_'))}"
            # The transfer helpers are PutObject and GetObject (in parts for large files).
            action = {"s3:UploadFile": "s3:PutObject", "s3:DownloadFile": "s3:GetObject"}.get(action, action)
            assert action in allowed, (path, action)


def test_the_code_calls_what_the_lambdas_need() -> None:
    # Guard the scanner itself: it must see the calls we know are there.
    trigger = (ROOT / "search_revenue" / "triggers.py").read_text()
    notifier = (ROOT / "lambda_functions" / "lambda_glue_failure_notification.py").read_text()
    assert ("glue", "start_job_run") in _CALL.findall(trigger)
    assert {("glue", "get_job_run"), ("sns", "publish")} <= set(_CALL.findall(notifier))

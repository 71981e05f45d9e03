"""Each role allows what its code calls and nothing broader (cf_templates/iam_calls.json)."""

from __future__ import annotations

import ast
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
CLIENT_SERVICES = {"glue": "glue", "sns": "sns", "s3": "s3", "sqs": "sqs", "dynamodb": "dynamodb"}
# A call, or a method passed on to be called (`self._conditional(self._dynamodb.put_item, ...)`).
_CALL = re.compile(r"(?:\b|_)(glue|sns|s3|sqs|dynamodb)\.([a-z_]+)(?=\(|,)")
_PAGINATED = re.compile(r"(?:\b|_)(dynamodb)\.get_paginator\(\"([a-z_]+)\"\)")
# What a managed copy (`s3.copy`) of one object version needs: AWS's troubleshooting guide for
# copies between buckets asks for s3:GetObjectTagging on the source and s3:PutObjectTagging on the
# destination when the object has tags, and GetObjectTagging of a version also needs
# s3:GetObjectVersionTagging (S3 API reference, GetObjectTagging).
COPY_OF_A_VERSION = (
    "s3:GetObjectVersion",
    "s3:GetObjectTagging",
    "s3:GetObjectVersionTagging",
    "s3:PutObject",
    "s3:PutObjectTagging",
)


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
        source = _source_of(path)
        calls = [call for call in _CALL.findall(source) if call[1] != "get_paginator"] + _PAGINATED.findall(source)
        for client, method in calls:
            action = f"{CLIENT_SERVICES[client]}:{''.join(part.title() for part in method.split('_'))}"
            # The transfer helpers are PutObject and GetObject (in parts for large files); HeadObject
            # needs GetObject. A managed copy of a version reads it with GetObjectVersion and, below
            # the multipart threshold, is one CopyObject, which copies the version's tags by default
            # (TaggingDirective COPY): tag read on the source, tag write on the copy.
            helpers = {"s3:UploadFile": ("s3:PutObject",), "s3:DownloadFile": ("s3:GetObject",),
                       "s3:HeadObject": ("s3:GetObject",), "s3:Copy": COPY_OF_A_VERSION}  # fmt: skip
            for needed in helpers.get(action, (action,)):
                assert needed in allowed, (path, needed)


def _source_of(reference: str) -> str:
    """A whole file, or one function or method of it (`path:Qualified.name`)."""
    path, _, qualified = reference.partition(":")
    text = (ROOT / path).read_text()
    if not qualified:
        return text
    scope: list[ast.stmt] = ast.parse(text).body
    node: ast.AST | None = None
    for name in qualified.split("."):
        node = next(n for n in scope if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == name)
        scope = node.body
    segment = ast.get_source_segment(text, node) if node else None
    assert segment, reference
    return segment


def test_the_code_calls_what_the_lambdas_need() -> None:
    # Guard the scanner itself: it must see the calls we know are there.
    trigger = _source_of("search_revenue/pipeline/runs.py:start_claimed")
    notifier = (ROOT / "lambda_functions" / "lambda_glue_failure_notification.py").read_text()
    assert ("glue", "start_job_run") in _CALL.findall(trigger)
    assert {("glue", "get_job_run"), ("sns", "publish")} <= set(_CALL.findall(notifier))


def test_ledger_methods_map_to_their_dynamodb_actions() -> None:
    # The per-function scan must tell the trigger's writes from the retry path's reads.
    assert _PAGINATED.findall(_source_of("search_revenue/pipeline/ledger.py:Ledger.with_status")) == [
        ("dynamodb", "query")
    ]
    assert ("dynamodb", "put_item") in _CALL.findall(_source_of("search_revenue/pipeline/ledger.py:Ledger.claim_new"))
    assert _CALL.findall(_source_of("search_revenue/pipeline/ledger.py:Ledger.mark_running")) == []


# CloudFormation's `Fn::GetAtt <LogGroup>.Arn` already ends in ":*" (AWS::Logs::LogGroup return
# values): "arn:aws:logs:us-east-1:123456789012:log-group:/mystack-testgroup-12ABC1AB12A1:*".
_SUB_ARN = re.compile(r"\$\{([A-Za-z0-9]+)\.Arn\}(.?)")


def _sub_strings(node: Any) -> list[str]:
    """Every `Fn::Sub` template string anywhere in a template fragment."""
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if key == "Fn::Sub":
                found.append(value if isinstance(value, str) else value[0])
            found += _sub_strings(value)
        return found
    if isinstance(node, list):
        return [text for item in node for text in _sub_strings(item)]
    return []


@pytest.mark.parametrize("template_name", ["cf_app_infra_stack_1.yml", "cf_app_infra_stack_2.yml"])
def test_log_group_arns_are_not_suffixed_again(template_name: str) -> None:
    template = load_template(template_name)
    log_groups = set(resources_of_type(template, "AWS::Logs::LogGroup"))
    doubled = [
        text
        for text in _sub_strings(template["Resources"])
        for name, following in _SUB_ARN.findall(text)
        if name in log_groups and following == ":"
    ]
    assert doubled == []


def test_lambda_roles_write_logs_to_their_own_log_group_as_documented() -> None:
    # The form AWS documents for a function's logs:CreateLogStream and logs:PutLogEvents is
    # "arn:aws:logs:<region>:<account>:log-group:<name>:*", which is exactly the log group's Arn.
    functions = resources_of_type(STACK_2, "AWS::Lambda::Function")
    assert functions
    for name, function in functions.items():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        [statement] = [s for s in _statements(STACK_2["Resources"][role]) if "logs:PutLogEvents" in s["Action"]]
        assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"], name
        assert statement["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}, name


def test_glue_role_copies_tags_only_from_inbound_versions_into_staging() -> None:
    # A small input version is copied with one CopyObject, which copies its tags (TaggingDirective
    # COPY by default): tag reads on the inbound objects, tag writes on the run's staging copy only.
    statements = _statements(STACK_2["Resources"]["GlueRole"])

    def resources_of(action: str) -> list[Any]:
        granted = [s["Resource"] for s in statements if action in _as_list(s["Action"])]
        return [res for resource in granted for res in (resource if isinstance(resource, list) else [resource])]

    inbound_objects = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${NamePrefix}-inbound-${AWS::AccountId}-${AWS::Region}/*"}
    staging = {"Fn::Sub": "${OutboundBucket.Arn}/staging/*"}
    assert resources_of("s3:GetObjectVersion") == [inbound_objects]
    assert resources_of("s3:GetObjectTagging") == [inbound_objects]
    assert resources_of("s3:GetObjectVersionTagging") == [inbound_objects]
    assert resources_of("s3:PutObjectTagging") == [staging]
    arguments = STACK_2["Resources"]["GlueJob"]["Properties"]["DefaultArguments"]
    assert arguments["--staging_uri"] == {"Fn::Sub": "s3://${OutboundBucket}/staging"}

"""What a first deploy into a new AWS account meets that moto does not enforce."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.templates.cfn import load_template, resources_of_type
from tests.templates.test_names import NAME_RULES

TEMPLATES = {name: load_template(name) for name in ("cf_app_infra_stack_1.yml", "cf_app_infra_stack_2.yml")}
STACK_2 = TEMPLATES["cf_app_infra_stack_2.yml"]
# Resources whose data outlives the stack: kept on delete and on replacement.
DATA_STORE_TYPES = {"AWS::S3::Bucket", "AWS::DynamoDB::Table"}
# AWS's documented File Gateway policy for a file share's bucket ("Granting access to an Amazon
# S3 bucket", Storage Gateway user guide): on the bucket, then on its objects.
FILE_GATEWAY_BUCKET_ACTIONS = {
    "s3:GetAccelerateConfiguration",
    "s3:GetBucketLocation",
    "s3:GetBucketVersioning",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
}
FILE_GATEWAY_OBJECT_ACTIONS = {
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:GetObjectVersion",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
    "s3:PutObjectAcl",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _named_resources() -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical_id, resource)
        for template in TEMPLATES.values()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in NAME_RULES
        and NAME_RULES[resource["Type"]].name_property in resource.get("Properties", {})
    ]


def test_named_resources_never_block_a_retried_create() -> None:
    # "Retain" keeps what a failed first create made, and the retry stops at "already exists";
    # RetainExceptOnCreate removes it on that rollback and keeps it on every later delete.
    named = _named_resources()
    assert named
    for logical_id, resource in named:
        assert resource.get("DeletionPolicy", "Delete") in {"Delete", "RetainExceptOnCreate"}, logical_id
        if resource.get("DeletionPolicy") == "RetainExceptOnCreate":
            assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


def test_data_stores_are_kept_on_delete_and_replacement() -> None:
    stores = [(logical_id, res) for logical_id, res in _named_resources() if res["Type"] in DATA_STORE_TYPES]
    assert len(stores) == 5  # four buckets and the run ledger
    for logical_id, resource in stores:
        assert resource.get("DeletionPolicy") == "RetainExceptOnCreate", logical_id
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


@pytest.mark.parametrize("function", sorted(resources_of_type(STACK_2, "AWS::Lambda::Function")))
def test_functions_reserve_no_concurrency_by_default(function: str) -> None:
    # A new account's concurrency quota may be 10, and Lambda keeps 100 unreserved: any
    # reservation fails the create there.
    reserved = STACK_2["Resources"][function]["Properties"].get("ReservedConcurrentExecutions")
    if reserved is None:
        return
    condition, when_set, otherwise = reserved["Fn::If"]
    assert otherwise == {"Ref": "AWS::NoValue"}
    parameter = STACK_2["Parameters"][when_set["Ref"]]
    assert parameter["Default"] == ""
    assert STACK_2["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": when_set["Ref"]}, ""]}]}


@pytest.mark.parametrize(("value", "allowed"), [("", True), ("5", True), ("12", True), ("1", False), ("4", False),
                                                ("0", False), ("05", False)])  # fmt: skip
def test_reserved_concurrency_is_none_or_enough_for_the_sqs_poller(value: str, allowed: bool) -> None:
    # Lambda reads the settle queue with 5 concurrent batches from the start: below that, throttled
    # batches count as failed receives and good uploads end in the trigger's dead-letter queue.
    pattern = STACK_2["Parameters"]["ReservedConcurrency"]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is allowed


def _queue_policy_statements(queue: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources_of_type(STACK_2, "AWS::SQS::QueuePolicy").values()
        if {"Ref": queue} in policy["Properties"]["Queues"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _admits(queue: str, service: str, source: dict[str, Any]) -> bool:
    """Whether the queue's policy lets `service` send to it on behalf of `source` (an ARN intrinsic)."""
    for statement in _queue_policy_statements(queue):
        sources = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn", [])
        if (
            statement["Effect"] == "Allow"
            and statement["Principal"] == {"Service": service}
            and "sqs:SendMessage" in _as_list(statement["Action"])
            and statement["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
            and source in _as_list(sources)
        ):
            return True
    return False


def _dead_letter_targets() -> list[tuple[str, str]]:
    """(rule, queue) for every rule target whose dead letters go to a queue of this stack."""
    return [
        (rule, target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0])
        for rule, resource in resources_of_type(STACK_2, "AWS::Events::Rule").items()
        for target in resource["Properties"]["Targets"]
        if "DeadLetterConfig" in target
    ]


def test_every_rule_with_a_dead_letter_queue_may_send_to_it() -> None:
    pairs = _dead_letter_targets()
    assert {rule for rule, _ in pairs} == {"GlueFailureRule", "GlueStateRule", "RetryScheduleRule"}
    for rule, queue in pairs:
        assert _admits(queue, "events.amazonaws.com", {"Fn::GetAtt": [rule, "Arn"]}), (rule, queue)


def test_every_subscription_with_a_dead_letter_queue_may_send_to_it() -> None:
    for name, subscription in resources_of_type(STACK_2, "AWS::SNS::Subscription").items():
        redrive = subscription["Properties"].get("RedrivePolicy")
        if redrive:
            queue = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert _admits(queue, "sns.amazonaws.com", subscription["Properties"]["TopicArn"]), name


def test_file_share_role_grants_the_documented_file_gateway_policy() -> None:
    statements = [
        statement
        for policy in STACK_2["Resources"]["FileShareRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    on_bucket = {
        action
        for s in statements
        if s["Resource"] == {"Fn::GetAtt": ["InboundBucket", "Arn"]}
        for action in _as_list(s["Action"])
    }
    on_objects = {
        action
        for s in statements
        if s["Resource"] == {"Fn::Sub": "${InboundBucket.Arn}/*"}
        for action in _as_list(s["Action"])
    }
    assert on_bucket >= FILE_GATEWAY_BUCKET_ACTIONS
    assert on_objects >= FILE_GATEWAY_OBJECT_ACTIONS


def test_glue_runs_past_the_concurrency_limit_wait_in_glue_queue() -> None:
    job = STACK_2["Resources"]["GlueJob"]["Properties"]
    assert job["JobRunQueuingEnabled"] is True
    assert job["ExecutionProperty"]["MaxConcurrentRuns"] == {"Ref": "GlueMaxConcurrentRuns"}

"""Every physical name the templates build fits its service's rules, in every region.

Names are resolved for the default prefix and the longest one `NamePrefix` admits, a 12-digit
account, and the longest region names botocore knows (all partitions). Limits, from each
service's API reference: S3 bucket 3-63 lower case, digits, dots and hyphens; Lambda function
64; IAM role 64; SQS queue 80; EventBridge rule 64; DynamoDB table 3-255; Glue job 255;
CloudWatch Logs group 512; SNS topic 256; CloudWatch alarm 255.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore
import pytest

from tests.templates.cfn import load_template

TEMPLATES = {name: load_template(name) for name in ("cf_app_infra_stack_1.yml", "cf_app_infra_stack_2.yml")}
ACCOUNT_ID = "123456789012"
_SUB_NAME = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class NameRule:
    """Where a resource type keeps its physical name, and what the service accepts."""

    name_property: str
    min_length: int
    max_length: int
    pattern: str


NAME_RULES = {
    "AWS::S3::Bucket": NameRule("BucketName", 3, 63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]"),
    "AWS::Lambda::Function": NameRule("FunctionName", 1, 64, r"[A-Za-z0-9_-]+"),
    "AWS::IAM::Role": NameRule("RoleName", 1, 64, r"[\w+=,.@-]+"),
    "AWS::SQS::Queue": NameRule("QueueName", 1, 80, r"[A-Za-z0-9_-]+"),
    "AWS::Events::Rule": NameRule("Name", 1, 64, r"[.\-_A-Za-z0-9]+"),
    "AWS::DynamoDB::Table": NameRule("TableName", 3, 255, r"[A-Za-z0-9_.-]+"),
    "AWS::Glue::Job": NameRule("Name", 1, 255, r"[^\r\n]+"),
    "AWS::Logs::LogGroup": NameRule("LogGroupName", 1, 512, r"[.\-_/#A-Za-z0-9]+"),
    "AWS::SNS::Topic": NameRule("TopicName", 1, 256, r"[A-Za-z0-9_-]+"),
    "AWS::CloudWatch::Alarm": NameRule("AlarmName", 1, 255, r"[^\r\n]+"),
}
# Types whose templates leave the name to CloudFormation, which keeps generated names in limits.
GENERATED_NAME_TYPES = {"AWS::IAM::Role", "AWS::Events::Rule"}
# S3 reserves these for its own names.
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3")


def _longest_region_names() -> list[str]:
    endpoints = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    regions = {region for partition in endpoints["partitions"] for region in partition["regions"]}
    longest = max(len(region) for region in regions)
    return sorted(region for region in regions if len(region) == longest)


def _prefix_parameters() -> list[dict[str, Any]]:
    return [template.get("Parameters", {}).get("NamePrefix", {}) for template in TEMPLATES.values()]


# Stack 2's definition; the last test holds stack 1 to the same.
PREFIX_PATTERN: str = _prefix_parameters()[1].get("AllowedPattern", "^$")
DEFAULT_PREFIX: str = _prefix_parameters()[1].get("Default", "")
LONGEST_PREFIX = "p" * max((n for n in range(65) if re.fullmatch(PREFIX_PATTERN, "p" * n)), default=0)
PREFIXES = [DEFAULT_PREFIX, LONGEST_PREFIX]
REGIONS = _longest_region_names()


def _resolve(value: Any, prefix: str, region: str) -> str:
    assert isinstance(value, dict), value
    assert set(value) == {"Fn::Sub"}, value
    known = {"NamePrefix": prefix, "AWS::AccountId": ACCOUNT_ID, "AWS::Region": region}
    text: str = value["Fn::Sub"]
    unknown = set(_SUB_NAME.findall(text)) - set(known)
    # AWS::StackName may be up to 128 characters and hold upper case; names derive from the prefix.
    assert not unknown, f"{text} uses {unknown}"
    return _SUB_NAME.sub(lambda match: known[match.group(1)], text)


def _physical_names(prefix: str, region: str) -> list[tuple[str, str, NameRule]]:
    names = []
    for template in TEMPLATES.values():
        for logical_id, resource in template["Resources"].items():
            rule = NAME_RULES.get(resource["Type"])
            if rule is None:
                continue
            name = resource.get("Properties", {}).get(rule.name_property)
            if name is None:
                assert resource["Type"] in GENERATED_NAME_TYPES, f"{logical_id} has no {rule.name_property}"
                continue
            names.append((logical_id, _resolve(name, prefix, region), rule))
    return names


def test_longest_region_names_are_the_real_ones() -> None:
    assert REGIONS
    assert all(len(region) >= len("ap-southeast-1") for region in REGIONS)


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("prefix", PREFIXES, ids=["default-prefix", "longest-prefix"])
def test_physical_names_fit_their_service(prefix: str, region: str) -> None:
    names = _physical_names(prefix, region)
    assert len(names) >= 15  # buckets, functions, queues, table, job, log groups, topic, alarm
    for logical_id, name, rule in names:
        assert rule.min_length <= len(name) <= rule.max_length, (logical_id, name, len(name))
        assert re.fullmatch(rule.pattern, name), (logical_id, name)


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("prefix", PREFIXES, ids=["default-prefix", "longest-prefix"])
def test_bucket_names_avoid_what_s3_reserves(prefix: str, region: str) -> None:
    buckets = [name for _, name, rule in _physical_names(prefix, region) if rule.name_property == "BucketName"]
    assert len(buckets) == 4
    for bucket in buckets:
        assert ".." not in bucket
        assert not bucket.startswith(BUCKET_RESERVED_PREFIXES)
        assert not bucket.endswith(BUCKET_RESERVED_SUFFIXES)


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("search-keyword-performance", id="the-old-default-stack-name"),
        pytest.param("Skp", id="upper-case"),
        pytest.param("skp-", id="trailing-hyphen"),
        pytest.param("1skp", id="leading-digit"),
        pytest.param("xn--skp", id="s3-reserved-prefix"),
        pytest.param("s", id="too-short"),
    ],
)
def test_name_prefix_refuses_what_would_break_a_name(prefix: str) -> None:
    assert PREFIX_PATTERN != "^$"
    assert re.fullmatch(PREFIX_PATTERN, prefix) is None


def test_both_stacks_take_the_same_valid_prefix() -> None:
    definitions = {(p.get("Type"), p.get("Default"), p.get("AllowedPattern")) for p in _prefix_parameters()}
    assert definitions == {("String", DEFAULT_PREFIX, PREFIX_PATTERN)}
    assert re.fullmatch(PREFIX_PATTERN, DEFAULT_PREFIX)
    assert len(LONGEST_PREFIX) >= len(DEFAULT_PREFIX)

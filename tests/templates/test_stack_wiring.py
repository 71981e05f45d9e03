"""The templates' wiring, read from the YAML: what moto's CloudFormation cannot show."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.lambdas.conftest import FAKE_AWS_ENV, load_event
from tests.templates.cfn import TEMPLATES, load_template, resources_of_type

STACK_1 = load_template("cf_app_infra_stack_1.yml")
STACK_2 = load_template("cf_app_infra_stack_2.yml")
BUCKETS = [
    (STACK_1, "ArtifactBucket"),
    (STACK_2, "InboundBucket"),
    (STACK_2, "OutboundBucket"),
]


@pytest.mark.parametrize(("template", "name"), BUCKETS, ids=[name for _, name in BUCKETS])
def test_buckets_are_private_encrypted_versioned_and_tls_only(template: dict[str, Any], name: str) -> None:
    bucket = template["Resources"][name]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert any("NoncurrentVersionExpiration" in rule for rule in bucket["LifecycleConfiguration"]["Rules"])
    assert "Fn::Sub" in bucket["BucketName"]
    assert bucket["BucketName"]["Fn::Sub"].startswith("${NamePrefix}-")
    policies = [
        res["Properties"]["PolicyDocument"]
        for res in resources_of_type(template, "AWS::S3::BucketPolicy").values()
        if res["Properties"]["Bucket"] == {"Ref": name}
    ]
    [statement] = policies[0]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_data_buckets_log_access_to_the_access_log_bucket() -> None:
    resources = STACK_2["Resources"]
    for name in ("InboundBucket", "OutboundBucket"):
        logging = resources[name]["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    statements = resources["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    delivery = next(s for s in statements if s["Sid"] == "S3ServerAccessLogs")
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"


def test_inbound_notifications_reach_the_trigger_on_every_create() -> None:
    resources = STACK_2["Resources"]
    configurations = resources["InboundBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert {c["Event"] for c in configurations} == {"s3:ObjectCreated:*"}  # multipart uploads included
    assert all(c["Queue"] == {"Fn::GetAtt": ["InboundEventsQueue", "Arn"]} for c in configurations)
    # Key filters are case sensitive (a suffix filter drops `HITS.TSV`): the trigger decides instead.
    assert [c.get("Filter") for c in configurations] == [None]
    environment = resources["TriggerFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["INBOUND_PREFIX"] == {"Ref": "InboundPrefix"}
    [statement] = resources["InboundEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    bucket_name = resources["InboundBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    source_arn = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert source_arn == f"arn:${{AWS::Partition}}:s3:::{bucket_name}"
    assert "InboundEventsQueuePolicy" in resources["InboundBucket"]["DependsOn"]
    mapping = resources["TriggerEventSource"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["InboundEventsQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Ref": "TriggerFunction"}


def test_pipeline_output_cannot_trigger_the_pipeline() -> None:
    glue_args = STACK_2["Resources"]["GlueJob"]["Properties"]["DefaultArguments"]
    assert glue_args["--output_uri"] == {"Fn::Sub": "s3://${OutboundBucket}/outbound"}
    assert "NotificationConfiguration" not in STACK_2["Resources"]["OutboundBucket"]["Properties"]


def test_glue_job_settings() -> None:
    job = STACK_2["Resources"]["GlueJob"]["Properties"]
    parameters = STACK_2["Parameters"]
    assert job["GlueVersion"] == "5.0"
    assert job["WorkerType"] == {"Ref": "GlueWorkerType"}
    assert parameters["GlueWorkerType"]["Default"] == "G.1X"
    assert parameters["GlueNumberOfWorkers"]["Default"] == 2
    assert job["Timeout"] == {"Ref": "GlueTimeoutMinutes"}
    assert job["ExecutionProperty"]["MaxConcurrentRuns"] == {"Ref": "GlueMaxConcurrentRuns"}
    arguments = job["DefaultArguments"]
    assert arguments["--enable-auto-scaling"] == "true"
    assert arguments["--enable-metrics"] == "true"
    assert arguments["--enable-continuous-cloudwatch-log"] == "true"
    assert arguments["--extra-py-files"] == {"Fn::Sub": "s3://${ArtifactBucketName}/${PackageWheelKey}"}
    assert {"--visit_timeout_s", "--attribution", "--max_reject_ratio"} <= set(arguments)


def _rendered_failure_pattern(job_name: str) -> str:
    pattern = STACK_2["Resources"]["GlueFailureRule"]["Properties"]["EventPattern"]
    assert pattern["detail"]["jobName"] == [{"Ref": "GlueJob"}]
    return json.dumps({**pattern, "detail": {**pattern["detail"], "jobName": [job_name]}})


@pytest.mark.parametrize(
    ("event_file", "state", "job", "matches"),
    [
        ("glue_job_failed.json", "FAILED", "the-job", True),
        ("glue_job_failed.json", "TIMEOUT", "the-job", True),
        ("glue_job_failed.json", "ERROR", "the-job", True),
        ("glue_job_failed.json", "STOPPED", "the-job", True),
        ("glue_job_succeeded.json", "SUCCEEDED", "the-job", False),
        ("glue_job_failed.json", "FAILED", "another-job", False),
    ],
)
def test_failure_rule_matches_failures_of_this_job_only(
    monkeypatch: pytest.MonkeyPatch, event_file: str, state: str, job: str, matches: bool
) -> None:
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    event = load_event(event_file)
    event["detail"].update(state=state, jobName=job)
    with mock_aws():
        # The real routing path: the rule on the default bus, an SQS target, one published event.
        sqs = boto3.client("sqs")
        queue = sqs.create_queue(QueueName="rule-target")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events")
        events.put_rule(Name="glue-failure", EventPattern=_rendered_failure_pattern("the-job"))
        events.put_targets(Rule="glue-failure", Targets=[{"Id": "inbox", "Arn": queue_arn}])
        events.put_events(
            Entries=[
                {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"])}
            ]
        )
        delivered = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert bool(delivered) is matches


def test_failure_rule_targets_the_notifier_with_a_dead_letter_queue() -> None:
    resources = STACK_2["Resources"]
    [target] = resources["GlueFailureRule"]["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["NotifierFunction", "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["AlertFailedEventsQueue", "Arn"]}
    assert resources["NotifierInvokePermission"]["Properties"]["SourceArn"] == {
        "Fn::GetAtt": ["GlueFailureRule", "Arn"]
    }


def test_trigger_errors_alarm_and_alerts_reach_the_encrypted_topic() -> None:
    resources = STACK_2["Resources"]
    alarm = resources["TriggerErrorsAlarm"]["Properties"]
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "TriggerFunction"}}]
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertKey"}
    assert resources["AlertEmailSubscription"]["Condition"] == "HasAlertEmail"
    redrive = resources["InboundEventsQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["TriggerDeadLetterQueue", "Arn"]}


def test_hosts_are_locked_down() -> None:
    resources = STACK_2["Resources"]
    for template in resources_of_type(STACK_2, "AWS::EC2::LaunchTemplate").values():
        data = template["Properties"]["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert all(mapping["Ebs"]["Encrypted"] is True for mapping in data["BlockDeviceMappings"])
    for group in resources_of_type(STACK_2, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"]["SecurityGroupIngress"]:
            assert rule.get("CidrIp", {"Ref": "OnPremCidr"}) == {"Ref": "OnPremCidr"}
    assert STACK_2["Parameters"]["FileGatewayAmiId"]["Type"] == "AWS::EC2::Image::Id"  # pinned, see test_amis.py
    user_data = resources["OnPremInstance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"][0]
    assert "nfs-utils" in user_data
    assert "${NfsMountPath}" in user_data
    assert resources["OnPremElasticIp"]["Properties"]["InstanceId"] == {"Ref": "OnPremInstance"}


def test_templates_hold_no_account_region_or_network_ids() -> None:
    for name in ("cf_app_infra_stack_1.yml", "cf_app_infra_stack_2.yml"):
        text = (TEMPLATES / name).read_text()
        for forbidden in (r"\b\d{12}\b", r"\b[a-z]{2}-[a-z]+-\d\b", r"\b(vpc|subnet|ami|sg)-[0-9a-f]{8,}\b"):
            assert re.search(forbidden, text) is None, (name, forbidden)


def test_run_ledger_table_is_on_demand_recoverable_and_encrypted() -> None:
    table = STACK_2["Resources"]["RunLedgerTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by_status"


def test_every_run_end_reaches_the_ledger_and_the_retry_path_runs_on_a_schedule() -> None:
    resources = STACK_2["Resources"]
    pattern = resources["GlueStateRule"]["Properties"]["EventPattern"]
    assert set(pattern["detail"]["state"]) == {"SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "STOPPED"}
    [target] = resources["GlueStateRule"]["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["LedgerFunction", "Arn"]}
    schedule = resources["RetryScheduleRule"]["Properties"]
    assert schedule["ScheduleExpression"] == {"Ref": "RetrySchedule"}
    assert STACK_2["Parameters"]["RetrySchedule"]["Default"] == "rate(15 minutes)"
    assert STACK_2["Parameters"]["MaxAttempts"]["Default"] == 3
    assert STACK_2["Parameters"]["RetryBaseSeconds"]["Default"] == 900  # 15, 30, 60 minutes...
    for function in ("TriggerFunction", "LedgerFunction", "RetryFunction"):
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert variables["LEDGER_TABLE"] == {"Ref": "RunLedgerTable"}
        # Each may win a GAVE_UP transition (the trigger: a start Glue refuses for good) and announce it.
        assert variables["ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}, function
        # One backoff for every caller that releases an input to the retry path.
        assert variables["RETRY_BASE_SECONDS"] == {"Ref": "RetryBaseSeconds"}, function

"""Stack 2 settles uploads before the trigger sees them, and nothing in the control plane fails silently."""

from __future__ import annotations

from tests.templates.cfn import load_template, resources_of_type

STACK_2 = load_template("cf_app_infra_stack_2.yml")
RESOURCES = STACK_2["Resources"]


def test_upload_events_wait_the_settle_time_before_the_trigger() -> None:
    queue = RESOURCES["InboundEventsQueue"]["Properties"]
    assert queue["DelaySeconds"] == {"Ref": "SettleSeconds"}
    settle = STACK_2["Parameters"]["SettleSeconds"]
    assert settle["Default"] == 60
    assert settle["MaxValue"] == 900  # SQS's largest delivery delay
    assert queue["VisibilityTimeout"] >= 6 * RESOURCES["TriggerFunction"]["Properties"]["Timeout"]
    trigger_env = RESOURCES["TriggerFunction"]["Properties"]["Environment"]["Variables"]
    assert trigger_env["SETTLE_SECONDS"] == {"Ref": "SettleSeconds"}
    assert RESOURCES["TriggerEventSource"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    dead_letters = RESOURCES["TriggerDeadLetterQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] < dead_letters["MessageRetentionPeriod"]


def test_s3_no_longer_invokes_the_trigger_directly() -> None:
    permissions = resources_of_type(STACK_2, "AWS::Lambda::Permission").values()
    assert all(permission["Properties"]["Principal"] != "s3.amazonaws.com" for permission in permissions)


def test_every_function_has_an_errors_alarm_to_the_alert_topic() -> None:
    alarms = resources_of_type(STACK_2, "AWS::CloudWatch::Alarm").values()
    watched = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Ref"]
        for alarm in alarms
        if alarm["Properties"]["MetricName"] == "Errors"
        and alarm["Properties"]["AlarmActions"] == [{"Ref": "AlertTopic"}]
    }
    assert watched == set(resources_of_type(STACK_2, "AWS::Lambda::Function"))


def test_every_dead_letter_queue_has_a_depth_alarm_to_the_alert_topic() -> None:
    queues = resources_of_type(STACK_2, "AWS::SQS::Queue")
    dead_letter_queues = {
        queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for queue in queues.values()
        if "RedrivePolicy" in queue["Properties"]
    } | {"AlertFailedEventsQueue"}  # the on-failure destination and DLQ of the alert path
    alarms = resources_of_type(STACK_2, "AWS::CloudWatch::Alarm").values()
    watched = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in alarms
        if alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and alarm["Properties"]["Threshold"] == 1
        and alarm["Properties"]["AlarmActions"] == [{"Ref": "AlertTopic"}]
    }
    assert dead_letter_queues <= watched
    assert "TriggerDeadLetterQueue" in watched


def test_glue_job_copies_its_input_version_into_an_expiring_staging_prefix() -> None:
    arguments = RESOURCES["GlueJob"]["Properties"]["DefaultArguments"]
    assert arguments["--staging_uri"] == {"Fn::Sub": "s3://${OutboundBucket}/staging"}
    rules = RESOURCES["OutboundBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    staging = next(rule for rule in rules if rule.get("Prefix") == "staging/")
    assert staging["ExpirationInDays"] <= 2
    # boto3 copies a large input in parts; a run stopped mid-copy must not leave its parts billed.
    assert staging["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] <= 2

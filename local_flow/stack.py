"""Stack 2 on the local endpoint: from the templates, and from the same template properties
for what moto's CloudFormation skips (the Glue job, the SNS subscription).

Bridges, one per gap moto leaves (it runs no Lambda code and no Glue script here):
- the inbound bucket notifies the template's settle queue with the template's events and filters
  (moto's CloudFormation skips bucket notifications); the queue's event source mapping is removed
  (moto would try to run the Lambda in Docker) and `bridges.py` hands its messages to the trigger;
- the failure rule gets an SQS target beside its Lambda target, with the template's pattern;
- a subscriber queue on the alert topic stands for the e-mail subscription.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3

from local_flow.iam import DenialLog, install_role_policies, role_session
from local_flow.templates import TEMPLATES, load_template, template_for_moto

ROOT: Final = Path(__file__).resolve().parent.parent
GLUE_SCRIPT: Final = ROOT / "glue_jobs" / "search_revenue_glue_job.py"
STACK_NAME: Final = "skp-local"
ACCOUNT_ID: Final = "123456789012"
ON_PREM_CIDR: Final = "127.0.0.0/8"
# A few seconds here instead of AWS's 60: the same settling, without waiting a minute per file.
LOCAL_SETTLE_SECONDS: Final = 3
# Backoff and the reconcile age in seconds rather than minutes, so retries, GAVE_UP and a lost
# run end are seen within a test; the template's values are the AWS ones.
LOCAL_ENVIRONMENT: Final = {
    "TriggerFunction": {"RETRY_BASE_SECONDS": "2"},
    "LedgerFunction": {"RETRY_BASE_SECONDS": "2"},
    "RetryFunction": {"RETRY_BASE_SECONDS": "2", "GLUE_TIMEOUT_MINUTES": "0", "RECONCILE_GRACE_SECONDS": "5"},
}
# Stack 2 takes both hosts' images as pinned AMI ids; locally, one of moto's images.
AMI_PARAMETERS: Final = ("FileGatewayAmiId", "OnPremAmiId")
_SUB_NAME = re.compile(r"\$\{([^}]+)\}")
# Fn::GetAtt Arn of the resource types the roles' policies name, from a physical id (or, for a
# queue, the name at the end of its URL). CloudFormation's log group Arn ends in ":*".
_ARN_FORMATS: Final = {
    "AWS::S3::Bucket": "arn:aws:s3:::{id}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{id}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/{id}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{region}:{account}:log-group:{id}:*",
}


@dataclass(frozen=True)
class Resolver:
    """Resolves Ref, Fn::Sub and Fn::GetAtt(…Arn) against a deployed stack."""

    parameters: Mapping[str, str]
    physical_ids: Mapping[str, str]
    attributes: Mapping[str, str]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._name(value["Ref"])
        if set(value) == {"Fn::Sub"}:
            text, extra = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            return _SUB_NAME.sub(lambda match: str(extra.get(match.group(1)) or self._name(match.group(1))), text)
        if set(value) == {"Fn::GetAtt"}:
            return self.attributes[".".join(value["Fn::GetAtt"])]
        return {key: self(item) for key, item in value.items()}

    def _name(self, name: str) -> str:
        pseudo = {"AWS::StackName": STACK_NAME, "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws",
                  "AWS::Region": boto3.session.Session().region_name or "us-east-1"}  # fmt: skip
        if name in pseudo:
            return pseudo[name]
        if "." in name:
            return self.attributes[name]
        if name in self.parameters:
            return str(self.parameters[name])
        return self.physical_ids[name]


@dataclass(frozen=True)
class LocalStack:
    """What the local flow talks to."""

    inbound_bucket: str
    outbound_bucket: str
    artifact_bucket: str
    job_name: str
    ledger_table: str
    topic_arn: str
    inbound_events_queue: str
    failure_events_queue: str
    state_events_queue: str
    alert_inbox_queue: str
    resolver: Resolver
    template: Mapping[str, Any]

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """A function's environment from the template (moto leaves out what refers to the Glue job)."""
        variables = self.template["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
        environment = {name: str(value) for name, value in self.resolver(variables).items()}
        return environment | LOCAL_ENVIRONMENT.get(logical_id, {})

    def role_of(self, logical_id: str) -> str:
        """The logical id of the role a function or the Glue job runs with (its `Role: !GetAtt X.Arn`)."""
        return str(self.template["Resources"][logical_id]["Properties"]["Role"]["Fn::GetAtt"][0])

    def role_session(self, role: str, service: str, denials: DenialLog) -> boto3.Session:
        """A session with a role's temporary credentials, assumed as `service` would (see local_flow.iam)."""
        trust = self.resolver(self.template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"])
        return role_session(role, str(self.resolver.attributes[f"{role}.Arn"]), trust, service, denials)


def _placeholder_zip(handler: str) -> bytes:
    # moto checks that a function's code exists, but runs no Lambda code here: the bridges call
    # the real handlers in-process.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{handler}.py", "# run in-process by local_flow.bridges\n")
    return buffer.getvalue()


def _queue(name: str) -> tuple[str, str]:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(url), str(arn)


def deploy_local_stack(templates: Path = TEMPLATES) -> LocalStack:
    """Create stacks 1 and 2 on the endpoint (from `templates`) and bridge what moto cannot run."""
    cloudformation = boto3.client("cloudformation")
    prefix = [{"ParameterKey": "NamePrefix", "ParameterValue": STACK_NAME}]  # physical names derive from it
    stack_1 = load_template("cf_app_infra_stack_1.yml", templates)
    cloudformation.create_stack(
        StackName=f"{STACK_NAME}-artifacts", Parameters=prefix, TemplateBody=json.dumps(stack_1)
    )
    artifacts = _outputs(f"{STACK_NAME}-artifacts")["ArtifactBucketName"]
    stack_2 = load_template("cf_app_infra_stack_2.yml", templates)
    defaults = {name: str(p["Default"]) for name, p in stack_2["Parameters"].items() if "Default" in p}
    s3 = boto3.client("s3")
    s3.upload_file(Filename=str(GLUE_SCRIPT), Bucket=artifacts, Key=defaults["GlueScriptKey"])
    handlers = {"TriggerZipKey": "lambda_glue_job_trigger", "NotifierZipKey": "lambda_glue_failure_notification",
                "LedgerZipKey": "lambda_glue_run_ledger", "RetryZipKey": "lambda_glue_retry"}  # fmt: skip
    for key_parameter, handler in handlers.items():
        s3.put_object(Bucket=artifacts, Key=defaults[key_parameter], Body=_placeholder_zip(handler))
    parameters = defaults | _network_parameters() | {"ArtifactBucketName": artifacts, "OnPremCidr": ON_PREM_CIDR,
                                                     "NamePrefix": STACK_NAME,
                                                     "SettleSeconds": str(LOCAL_SETTLE_SECONDS)}  # fmt: skip
    cloudformation.create_stack(
        StackName=STACK_NAME,
        TemplateBody=json.dumps(template_for_moto(stack_2)),
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items() if k in stack_2["Parameters"]
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    resources = cloudformation.describe_stack_resources(StackName=STACK_NAME)["StackResources"]
    # Types moto skips come back without ids; the Glue job is created below, the rest is not needed locally.
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if "PhysicalResourceId" in r}
    iam = boto3.client("iam")
    roles = {name: res for name, res in stack_2["Resources"].items() if res["Type"] == "AWS::IAM::Role"}
    attributes = {f"{name}.Arn": iam.get_role(RoleName=physical[name])["Role"]["Arn"] for name in roles}
    attributes |= _arn_attributes(stack_2["Resources"], physical)
    resolver = Resolver(parameters, physical, attributes)
    job_name = _create_glue_job(stack_2, resolver)
    resolver = Resolver(parameters, physical | {"GlueJob": job_name}, attributes)
    install_role_policies(roles, resolver, {name: physical[name] for name in roles})
    return _bridge(stack_2, resolver, job_name)


def _arn_attributes(resources: Mapping[str, Any], physical: Mapping[str, str]) -> dict[str, str]:
    """`X.Arn` for each resource of a type in _ARN_FORMATS that moto created."""
    region = boto3.session.Session().region_name or "us-east-1"
    return {
        f"{name}.Arn": _ARN_FORMATS[resource["Type"]].format(
            id=physical[name], name=physical[name].rsplit("/", 1)[-1], region=region, account=ACCOUNT_ID)
        for name, resource in resources.items() if resource["Type"] in _ARN_FORMATS and name in physical
    }  # fmt: skip


def _outputs(stack: str) -> dict[str, str]:
    described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _network_parameters() -> dict[str, str]:
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return {"VpcId": vpc, "SubnetId": subnet} | dict.fromkeys(AMI_PARAMETERS, str(image))


def _create_glue_job(stack_2: Mapping[str, Any], resolve: Resolver) -> str:
    """Create the Glue job moto's CloudFormation skipped, from the template's own properties."""
    properties = resolve(stack_2["Resources"]["GlueJob"]["Properties"])
    boto3.client("glue").create_job(
        Name=properties["Name"],
        Description=properties["Description"],
        Role=properties["Role"],
        GlueVersion=properties["GlueVersion"],
        WorkerType=properties["WorkerType"],
        NumberOfWorkers=int(properties["NumberOfWorkers"]),
        Timeout=int(properties["Timeout"]),
        MaxRetries=int(properties["MaxRetries"]),
        ExecutionProperty={"MaxConcurrentRuns": int(properties["ExecutionProperty"]["MaxConcurrentRuns"])},
        Command=properties["Command"],
        DefaultArguments={key: str(value) for key, value in properties["DefaultArguments"].items()},
    )
    return str(properties["Name"])


def _drop_lambda_targets(rule_name: str) -> None:
    # moto cannot invoke a Lambda target; its attempt fails the whole PutEvents call.
    events = boto3.client("events")
    targets = [target["Id"] for target in events.list_targets_by_rule(Rule=rule_name)["Targets"]]
    if targets:
        events.remove_targets(Rule=rule_name, Ids=targets)


def _rule_to_queue(resources: Mapping[str, Any], resolve: Resolver, logical_id: str, queue_name: str) -> str:
    """Give a rule of the template an SQS target in place of its Lambda target, with its own pattern."""
    url, arn = _queue(queue_name)
    events = boto3.client("events")
    rule_name = resolve({"Ref": logical_id})
    pattern = resolve(resources[logical_id]["Properties"]["EventPattern"])
    events.put_rule(Name=rule_name, EventPattern=json.dumps(pattern), State="ENABLED")
    _drop_lambda_targets(rule_name)  # the queue stands in for the Lambda target
    events.put_targets(Rule=rule_name, Targets=[{"Id": "local-bridge", "Arn": arn}])
    return url


def _settle_queue(resources: Mapping[str, Any], resolve: Resolver) -> str:
    """The template's settle queue, with its delivery delay set from the template's own property."""
    properties = {name: resolve(resources["InboundEventsQueue"]["Properties"][name])
                  for name in ("QueueName", "DelaySeconds")}  # fmt: skip
    sqs = boto3.client("sqs")
    url = str(sqs.get_queue_url(QueueName=properties["QueueName"])["QueueUrl"])
    # Set explicitly: the local flow must not depend on which queue properties moto's stack applies.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": str(properties["DelaySeconds"])})
    return url


def _drop_event_source_mappings(function_name: str) -> None:
    # moto would hand each message to the function itself, which it can only run in Docker.
    client = boto3.client("lambda")
    for mapping in client.list_event_source_mappings(FunctionName=function_name)["EventSourceMappings"]:
        client.delete_event_source_mapping(UUID=mapping["UUID"])


def _filter_rules(rules: list[dict[str, str]]) -> list[dict[str, str]]:
    # An empty prefix matches every key; moto's server fails on an empty rule value instead.
    return [rule for rule in rules if rule["Value"]]


def _queue_configuration(queue_arn: str, event: str, key_filter: Mapping[str, Any]) -> dict[str, Any]:
    """The template's queue notification as S3's API takes it: same event, same key rules (if any)."""
    rules = _filter_rules(key_filter.get("S3Key", {}).get("Rules", []))
    configuration: dict[str, Any] = {"QueueArn": queue_arn, "Events": [event]}
    if rules:  # S3 refuses a filter without rules
        configuration["Filter"] = {"Key": {"FilterRules": rules}}
    return configuration


def _versioning(resources: Mapping[str, Any], resolve: Resolver) -> None:
    """moto's CloudFormation ignores bucket versioning: set it from the template's own property."""
    s3 = boto3.client("s3")
    for logical_id, resource in resources.items():
        status = resource["Properties"].get("VersioningConfiguration", {}).get("Status")
        if resource["Type"] == "AWS::S3::Bucket" and status:
            s3.put_bucket_versioning(Bucket=resolve({"Ref": logical_id}), VersioningConfiguration={"Status": status})


def _bridge(stack_2: Mapping[str, Any], resolve: Resolver, job_name: str) -> LocalStack:
    resources = stack_2["Resources"]
    _versioning(resources, resolve)
    inbound = resolve({"Ref": "InboundBucket"})
    inbound_url = _settle_queue(resources, resolve)
    inbound_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=inbound_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    notifications = resources["InboundBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    queue_configurations = [
        _queue_configuration(inbound_arn, notification["Event"], resolve(notification.get("Filter", {})))
        for notification in notifications
    ]
    boto3.client("s3").put_bucket_notification_configuration(
        Bucket=inbound, NotificationConfiguration={"QueueConfigurations": queue_configurations}
    )
    _drop_event_source_mappings(resolve({"Ref": "TriggerFunction"}))
    failure_url = _rule_to_queue(resources, resolve, "GlueFailureRule", f"{STACK_NAME}-glue-failure-events")
    state_url = _rule_to_queue(resources, resolve, "GlueStateRule", f"{STACK_NAME}-glue-state-events")
    # moto runs no schedules, and a rule without a pattern would hand every event to its Lambda
    # target: the flow calls the retry handler itself, on a short local period.
    _drop_lambda_targets(resolve({"Ref": "RetryScheduleRule"}))
    topic = resolve({"Ref": "AlertTopic"})
    inbox_url, inbox_arn = _queue(f"{STACK_NAME}-alert-inbox")
    boto3.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn,
                                  Attributes={"RawMessageDelivery": "false"})  # fmt: skip
    return LocalStack(
        inbound_bucket=inbound,
        outbound_bucket=resolve({"Ref": "OutboundBucket"}),
        artifact_bucket=resolve.parameters["ArtifactBucketName"],
        job_name=job_name,
        ledger_table=resolve({"Ref": "RunLedgerTable"}),
        topic_arn=topic,
        inbound_events_queue=inbound_url,
        failure_events_queue=failure_url,
        state_events_queue=state_url,
        alert_inbox_queue=inbox_url,
        resolver=resolve,
        template=stack_2,
    )

"""IAM on the local endpoint: each handler and the Glue run act with their own role from stack 2.

What moto 5.2.1 enforces once its authorization is on (`moto/core/authorization.py`,
`moto/iam/access_control.py`), and what this module does about each gap:
- every request is signature-checked and its action evaluated against the caller's identity
  policies (an IAM user's, or an assumed role's inline and attached policies);
- moto compares a statement's `Resource` with the request's resource only for S3 (bucket and key
  ARNs), SQS (queue ARN), IAM and STS; for every other service it evaluates against "*", which a
  resource-scoped grant never matches. `checkable_policy` therefore widens the grants of those
  services to "*": they are checked by action only, S3 and SQS by action and resource;
- it evaluates identity-policy conditions without a request context, so a statement with a
  `Condition` would deny its action outright: `checkable_policy` leaves conditions out;
- its CloudFormation stores a role's inline policies in a form its own authorizer cannot parse,
  and leaves `Ref`s to resource types it skips (the Glue job) unresolved: `install_role_policies`
  puts each role's policies again, from the template, resolved against the stack;
- it evaluates a trust policy naming a service principal with an error, and the services
  (Lambda, Glue, Storage Gateway) that assume the roles are not there: the flow checks the trust
  policy itself (`trusts_service`) and assumes every role before the switch is turned on;
- it checks no resource policies and makes no calls on a service's behalf (SNS's KMS calls, the
  Lambda on-failure destination, the function's own log writes): those grants are not exercised.

The bridges, which act as the AWS services, use an administrator user of the endpoint.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import boto3

ADMIN_USER: Final = "local-flow-services"
LAMBDA_SERVICE: Final = "lambda.amazonaws.com"
GLUE_SERVICE: Final = "glue.amazonaws.com"
STORAGE_GATEWAY_SERVICE: Final = "storagegateway.amazonaws.com"
# The services whose requests moto evaluates against their own resource ARN (see the module doc).
RESOURCE_CHECKED_SERVICES: Final = frozenset({"s3", "sqs", "iam", "sts"})
_DENIED_CODES: Final = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
# moto answers a denied JSON-protocol call with an XML body that botocore shows as the message.
_NOT_AUTHORIZED: Final = re.compile(r"(User: \S+ is not authorized to perform: [\w-]+:\w+)")
# How botocore words a refused call in an exception's text (the Glue script's error line).
_REFUSED_CALL: Final = re.compile(r"An error occurred \((AccessDenied\w*|403)\) when calling the \w+ operation.*")
HTTP_FORBIDDEN: Final = 403


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def checkable_policy(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an identity policy that moto evaluates by action wherever it cannot by resource.

    Allow statements are split by service: S3, SQS, IAM and STS keep their resources; the others
    get Resource "*". Conditions are left out (moto would deny on them). Deny statements stay as
    they are, so this copy never grants less than the original on the resources moto does check.
    """
    statements: list[dict[str, Any]] = []
    for statement in _as_list(document["Statement"]):
        if statement.get("Effect") != "Allow" or "Action" not in statement:
            statements.append(dict(statement))
            continue
        kept = {key: value for key, value in statement.items() if key != "Condition"}
        actions = _as_list(statement["Action"])
        checked = [action for action in actions if action.split(":", 1)[0] in RESOURCE_CHECKED_SERVICES]
        by_action = [action for action in actions if action not in checked]
        if checked:
            statements.append(kept | {"Action": checked})
        if by_action:
            statements.append(kept | {"Action": by_action, "Resource": "*"})
    return {"Version": document.get("Version", "2012-10-17"), "Statement": statements}


def trusts_service(trust_policy: Mapping[str, Any], service: str) -> bool:
    """Tell whether a role's trust policy lets a service principal assume it (conditions aside)."""
    for statement in _as_list(trust_policy["Statement"]):
        principals = statement.get("Principal", {})
        services = _as_list(principals.get("Service", [])) if isinstance(principals, dict) else []
        if statement.get("Effect") == "Allow" and "sts:AssumeRole" in _as_list(statement.get("Action", [])) \
                and service in services:  # fmt: skip
            return True
    return False


def access_denial(status: int, code: str, message: str) -> str | None:
    """The denial an AWS error response reports, as one line; None when the error is no denial.

    A HEAD request's 403 has no body to name the code, hence the status.
    """
    found = _NOT_AUTHORIZED.search(message)
    if found:
        return found.group(1)
    if code in _DENIED_CODES or status == HTTP_FORBIDDEN:
        return f"{code}: {message}" if message else code
    return None


def denial_in_error(text: str) -> str | None:
    """The denial named in an error's text (a failed Glue run's message), or None."""
    named = _NOT_AUTHORIZED.search(text)
    if named:
        return named.group(1)
    refused = _REFUSED_CALL.search(text)
    return refused.group(0) if refused else None


@dataclass(frozen=True)
class Denial:
    """One call a role's credentials were refused."""

    role: str
    where: str  # the call ("glue:StartJobRun"), or the process that made it ("the Glue script")
    reason: str

    def __str__(self) -> str:
        return f"IAM denied {self.role} ({self.where}): {self.reason}"


@dataclass
class DenialLog:
    """The denials seen so far, in order; `since(mark)` reads the ones after a mark."""

    denials: list[Denial] = field(default_factory=list)

    def since(self, mark: int) -> list[Denial]:
        """Denials recorded after `mark` (a length of `denials` taken earlier)."""
        return self.denials[mark:]

    def add(self, denial: Denial) -> None:
        """Record one denial."""
        self.denials.append(denial)

    def record(self, role: str) -> Callable[..., None]:
        """A botocore `after-call` hook that records the denials of one role's clients."""

        def after_call(http_response: Any, parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
            error = parsed.get("Error", {}) if isinstance(parsed, Mapping) else {}
            status = int(getattr(http_response, "status_code", 0))
            reason = access_denial(status, str(error.get("Code", "")), str(error.get("Message", "")))
            if reason is not None:
                self.add(Denial(role, f"{model.service_model.service_name}:{model.name}", reason))

        return after_call


def admin_credentials() -> dict[str, str]:
    """Create the endpoint's administrator user (the bridges, acting as AWS) and return its keys.

    With authorization on, moto accepts only keys it issued; this user holds one grant, "*" on "*".
    """
    iam = boto3.client("iam")
    iam.create_user(UserName=ADMIN_USER)
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName=ADMIN_USER, PolicyName="act-as-aws", PolicyDocument=json.dumps(allow_all))
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def install_role_policies(roles: Mapping[str, Mapping[str, Any]], resolve: Callable[[Any], Any],
                          role_names: Mapping[str, str]) -> None:  # fmt: skip
    """Put each role's inline policies again, from the template, in the form moto can evaluate.

    `roles` maps a role's logical id to its template resource, `role_names` to its physical name.
    """
    iam = boto3.client("iam")
    for logical_id, resource in roles.items():
        name = role_names[logical_id]
        for stored in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=stored)
        for policy in resource["Properties"].get("Policies", []):
            document = checkable_policy(resolve(policy["PolicyDocument"]))
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(document))


def role_session(role: str, role_arn: str, trust_policy: Mapping[str, Any], service: str,
                 denials: DenialLog) -> boto3.Session:  # fmt: skip
    """Assume a role as its service would, and return a session with its temporary credentials.

    Raises:
        PermissionError: the role's trust policy does not let `service` assume it.
    """
    if not trusts_service(trust_policy, service):
        raise PermissionError(f"{role}: the trust policy does not let {service} assume {role_arn}")
    credentials = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=f"local-{role}")["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=boto3.session.Session().region_name,
    )
    session.events.register("after-call", denials.record(role))
    return session


def session_environment(session: boto3.Session) -> dict[str, str]:
    """A session's credentials as the environment variables a process (the Glue script) reads."""
    frozen = session.get_credentials().get_frozen_credentials()
    return {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
            "AWS_SESSION_TOKEN": frozen.token or ""}  # fmt: skip


@contextmanager
def acting_as(session: boto3.Session) -> Iterator[None]:
    """Make `boto3.client(...)` build its clients from `session`, as a Lambda's runtime environment does."""
    saved = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = session
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = saved


def enforce_iam(endpoint: str) -> None:
    """Turn moto's IAM authorization on for every request from now on (its `reset-auth` API)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        json.load(response)

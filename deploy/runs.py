"""`make status` and `make redrive`: the run ledger by hand, on AWS or on the local endpoint.

    python -m deploy.runs status  --stack STACK [--endpoint http://127.0.0.1:PORT] [--limit 20]
    python -m deploy.runs redrive --stack STACK --key s3://bucket/key [--endpoint ...] [--job NAME]

The table and the job come from stack 2's outputs. With --endpoint (the one `make run KEEP=1`
prints) the same calls go to the local endpoint instead of AWS.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import boto3

from search_revenue.pipeline.history import FileHistory, file_histories
from search_revenue.pipeline.ledger import GAVE_UP, Ledger
from search_revenue.pipeline.runs import redrive

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}


def status_lines(histories: Iterable[FileHistory]) -> list[str]:
    """Per input file: versions seen, superseded ones, and each content's status, attempts, run and result."""
    lines: list[str] = []
    for history in histories:
        lines.append(f"{history.pk}  (updated {history.updated_at})")
        lines.append(f"  versions seen: {', '.join(history.versions_seen) or '-'}")
        for version, successor in history.superseded:
            lines.append(f"  superseded:    {version} -> {successor} (no run)")
        for item in history.contents:
            result = item.output_key if item.status == "SUCCEEDED" else item.last_error or ""
            lines.append(f"  {item.status:<10} attempts {item.attempts}  version {item.version_id or '-'}  {item.sk}")
            lines.append(f"  {'':<10} run {item.glue_run_id or '-'}  {result}".rstrip())
    return lines or ["the run ledger is empty"]


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    """Stack 2's outputs by key."""
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("status", "redrive"))
    parser.add_argument("--stack", required=True, help="stack 2's name")
    parser.add_argument("--key", help="redrive: the input, s3://bucket/key")
    parser.add_argument("--endpoint", help="the local endpoint of `make run KEEP=1`")
    parser.add_argument("--job", help="the Glue job, when stack 2 has no GlueJobName output (the local endpoint)")
    parser.add_argument("--limit", type=int, default=20, help="status: the most recently changed files shown")
    args = parser.parse_args(argv)
    if args.endpoint:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint
        for name, value in LOCAL_CREDENTIALS.items():
            os.environ.setdefault(name, value)
    outputs = stack_outputs(boto3.client("cloudformation"), args.stack)
    ledger = Ledger(boto3.client("dynamodb"), outputs["RunLedgerTableName"])
    if args.command == "status":
        print("\n".join(status_lines(file_histories(ledger.recent(None))[: args.limit])))
        return 0
    if not args.key:
        parser.error("redrive needs --key s3://bucket/key")
    job_name = args.job or outputs.get("GlueJobName")
    if not job_name:
        parser.error("stack 2 has no GlueJobName output: pass --job")
    try:
        started = redrive(boto3.client("glue"), ledger, job_name, args.key, datetime.now(UTC))
    except (LookupError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    outcome = started[args.key]
    if outcome.run_id:
        print(f"{args.key}: Glue run {outcome.run_id} started")
    elif outcome.status == GAVE_UP:
        print(f"{args.key}: Glue refused the start for good ({outcome.error}); GAVE_UP, fix the cause first")
    else:
        print(f"{args.key}: Glue refused the start ({outcome.error}); left RECEIVED for the retry path")
    return 0


if __name__ == "__main__":
    sys.exit(main())

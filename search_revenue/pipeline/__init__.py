"""The pipeline's control plane: trigger, run ledger, retries, alerts and their configuration.

What the Lambda zips carry. It needs only the standard library and boto3 (which the Lambda runtime
ships), never Spark or the engines.
"""

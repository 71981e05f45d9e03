"""The local AWS endpoint: moto in server mode on 127.0.0.1, on a free port."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from moto import settings
from moto.server import ThreadedMotoServer

LOOPBACK: Final = "127.0.0.1"
REGION: Final = "us-east-1"
# Dummy credentials: moto accepts any until IAM is enforced (local_flow.iam), and nothing here may
# reach a real account.
FAKE_CREDENTIALS: Final = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@contextmanager
def local_aws_endpoint() -> Iterator[str]:
    """Start moto on a free loopback port, point this process (and its children) at it, stop it after.

    boto3 honours AWS_ENDPOINT_URL, so the handlers and the Glue script make their usual calls.
    """
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    # moto names every resource type its CloudFormation skips; local_flow.stack bridges those.
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {name: os.environ.get(name) for name in [*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL"]}
    os.environ.update(FAKE_CREDENTIALS | {"AWS_ENDPOINT_URL": endpoint})
    # IAM enforcement (local_flow.iam) is one setting for all of moto in this process: leave it as found.
    saved_no_auth_count = settings.INITIAL_NO_AUTH_ACTION_COUNT
    try:
        yield endpoint
    finally:
        server.stop()
        settings.INITIAL_NO_AUTH_ACTION_COUNT = saved_no_auth_count
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

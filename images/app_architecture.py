"""Draw images/app_architecture.png from code (the `diagrams` package and Graphviz).

python images/app_architecture.py
"""

from __future__ import annotations

from pathlib import Path

from diagrams import Cluster, Diagram, Edge
from diagrams.aws.analytics import Glue
from diagrams.aws.compute import EC2, Lambda
from diagrams.aws.database import Dynamodb
from diagrams.aws.integration import Eventbridge, SimpleNotificationServiceSns, SimpleQueueServiceSqs
from diagrams.aws.management import Cloudwatch
from diagrams.aws.storage import S3, StorageGateway
from diagrams.onprem.client import Users

OUTPUT = Path(__file__).resolve().parent / "app_architecture"


def draw() -> None:
    """Render the deployed flow, left to right, as the stacks build it."""
    attributes = {"pad": "0.4", "fontsize": "13", "splines": "spline"}
    with Diagram("Search keyword performance on AWS", filename=str(OUTPUT), show=False, direction="LR",
                 graph_attr=attributes, outformat="png"):  # fmt: skip
        client = Users("client team")
        with Cluster("on-premises (stack 2)"):
            server = EC2("on-prem server\nNFS mount")
        with Cluster("stack 2"):
            gateway = StorageGateway("S3 File Gateway\n(EC2 appliance)")
            inbound = S3("inbound bucket")
            trigger = Lambda("trigger Lambda")
            dead_letters = SimpleQueueServiceSqs("failed events")
            job = Glue("Glue 5.0 job\n(PySpark)")
            outbound = S3("outbound bucket\noutbound/YYYY-MM-DD/")
            rule = Eventbridge("Glue failure rule")
            notifier = Lambda("alert Lambda")
            alarm = Cloudwatch("trigger errors alarm")
            ledger = Dynamodb("run ledger")
            state_rule = Eventbridge("Glue state rule")
            ledger_lambda = Lambda("ledger Lambda")
            schedule = Eventbridge("every 15 min")
            retry = Lambda("retry Lambda")
            topic = SimpleNotificationServiceSns("alert topic (KMS)")
        with Cluster("stack 1"):
            artifacts = S3("artifact bucket\nscript, wheel, zips")

        client >> Edge(label="writes file") >> server >> Edge(label="NFS") >> gateway
        gateway >> Edge(label="multipart upload") >> inbound
        inbound >> Edge(label="ObjectCreated:*") >> trigger >> Edge(label="StartJobRun") >> job
        trigger >> Edge(style="dashed", label="on failure") >> dead_letters
        artifacts >> Edge(style="dotted") >> job
        job >> Edge(label=".tab, summary") >> outbound
        job >> Edge(label="state change") >> rule >> notifier >> Edge(label="Publish") >> topic
        trigger >> Edge(style="dashed") >> alarm >> topic
        trigger >> Edge(label="claim (conditional)") >> ledger
        job >> Edge(label="run ended") >> state_rule >> ledger_lambda >> ledger
        schedule >> retry >> Edge(label="RECEIVED / FAILED") >> ledger
        retry >> Edge(label="StartJobRun") >> job
        retry >> Edge(style="dashed", label="GAVE_UP") >> topic
        topic >> Edge(label="e-mail") >> client


if __name__ == "__main__":
    draw()

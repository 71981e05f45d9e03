"""Alerts that follow a ledger transition reach SNS at least once.

The transition is recorded first, so a publish that fails (throttled, SNS or KMS unavailable) cannot
be repeated by the caller's retry: the ledger already holds the new status and a second event
changes nothing. The alert is therefore held on the item until SNS accepts it, and the retry path
sends the alerts still held after a grace time. A publish that succeeds right before a failed
`alert_sent` is sent again: a rare duplicate, never a lost alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from search_revenue.pipeline.alerts import Alert
from search_revenue.pipeline.ledger import Ledger

# Longer than any handler takes from hold to publish (their timeouts are shorter), so the retry
# path never sends an alert its own handler is still publishing.
ALERT_GRACE: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class HeldAlertSent:
    """An alert the retry path sent for an earlier caller whose publish failed."""

    pk: str
    sk: str
    message_id: str


def publish_held(sns: Any, topic_arn: str, ledger: Ledger, pk: str, sk: str, alert: Alert, now: datetime) -> str:
    """Publish the alert of the item's last transition, held on the item until SNS accepts it; its message id."""
    held_at = ledger.hold_alert(pk, sk, alert.subject, alert.body, now)
    message_id = str(sns.publish(TopicArn=topic_arn, Subject=alert.subject, Message=alert.body)["MessageId"])
    ledger.alert_sent(pk, sk, held_at)
    return message_id


def send_held_alerts(sns: Any, topic_arn: str, ledger: Ledger, now: datetime) -> list[HeldAlertSent]:
    """Send every alert held for longer than ALERT_GRACE (its publisher failed), then drop it."""
    sent = []
    for item in ledger.held_alerts(now - ALERT_GRACE):
        held = item.held_alert
        if held is None:  # held_alerts returns only items with one
            continue
        message_id = str(sns.publish(TopicArn=topic_arn, Subject=held.subject, Message=held.body)["MessageId"])
        ledger.alert_sent(item.pk, item.sk, held.held_at)
        sent.append(HeldAlertSent(item.pk, item.sk, message_id))
    return sent

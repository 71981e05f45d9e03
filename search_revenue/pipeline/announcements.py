"""Alerts that follow a ledger transition reach SNS at least once.

The transition is recorded first, so a publish that fails (throttled, SNS or KMS unavailable) cannot
be repeated by the caller's retry: the ledger already holds the new status and a second event
changes nothing. Each alert is therefore held on its item before any is published, and dropped once
SNS accepts it; the retry path sends the alerts still held after a grace time. One failed publish
does not stop the others. A publish that succeeds right before a failed `alert_sent`, or two retry
passes reading the same held alert, send it twice: a rare duplicate rather than a lost alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from search_revenue.errors import SearchRevenueError
from search_revenue.pipeline.alerts import Alert
from search_revenue.pipeline.ledger import HeldAlert, Ledger

# Longer than any handler takes from hold to publish (the functions' timeouts are at most two
# minutes), so the retry path never sends an alert its publisher is still sending.
ALERT_GRACE: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Announcement:
    """The alert of one item's transition."""

    pk: str
    sk: str
    alert: Alert


@dataclass
class AnnounceReport:
    """What came of publishing: message id per input, or SNS's error (the alert stays held)."""

    published: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def raise_if_failed(self) -> None:
        """Fail the invocation (its function's error alarm fires) when an alert is still held."""
        if self.failed:
            held = ", ".join(sorted(self.failed))
            raise AlertNotPublishedError(f"alerts held for the retry path, not published: {held}")


class AlertNotPublishedError(SearchRevenueError):
    """SNS refused alerts; they stay held on their ledger items for the retry path."""


def announce(sns: Any, topic_arn: str, ledger: Ledger, announcements: Sequence[Announcement],
             now: datetime) -> AnnounceReport:  # fmt: skip
    """Hold every alert on its item, then publish each and drop the ones SNS accepted."""
    held = [
        (item.pk, item.sk, HeldAlert(item.alert.subject, item.alert.body,
                                     ledger.hold_alert(item.pk, item.sk, item.alert.subject, item.alert.body, now)))
        for item in announcements
    ]  # fmt: skip
    report = AnnounceReport()
    for pk, sk, alert in held:
        _publish(sns, topic_arn, ledger, pk, sk, alert, report)
    return report


def send_held_alerts(sns: Any, topic_arn: str, ledger: Ledger, now: datetime) -> AnnounceReport:
    """Send every alert held for longer than ALERT_GRACE (its publisher failed), then drop it."""
    report = AnnounceReport()
    for item in ledger.held_alerts(now - ALERT_GRACE):
        if item.held_alert is not None:  # held_alerts returns only items with one
            _publish(sns, topic_arn, ledger, item.pk, item.sk, item.held_alert, report)
    return report


def log_unpublished(logger: Any, report: AnnounceReport) -> None:
    """One error line per alert SNS refused, with its input key, on the handler's logger."""
    for pk, error in report.failed.items():
        logger.error("alert not published; held for the retry path", extra={"input_key": pk, "error": error})


def _publish(sns: Any, topic_arn: str, ledger: Ledger, pk: str, sk: str, alert: HeldAlert,
             report: AnnounceReport) -> None:  # fmt: skip
    try:
        message_id = str(sns.publish(TopicArn=topic_arn, Subject=alert.subject, Message=alert.body)["MessageId"])
    except (BotoCoreError, ClientError) as err:
        report.failed[pk] = str(err)
        return
    ledger.alert_sent(pk, sk, alert.held_at)
    report.published[pk] = message_id

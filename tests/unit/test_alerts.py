"""Alert subjects SNS accepts, whatever the input file is called."""

from __future__ import annotations

from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search_revenue.pipeline.alerts import (
    GlueFailure,
    alert_for_failure,
    alert_for_gave_up,
    alert_for_refused_start,
    subject_line,
)
from search_revenue.pipeline.ledger import LedgerItem
from search_revenue.pipeline.runs import RefusedStart

# SNS Publish: printable ASCII (space to tilde), no line breaks or control characters, under 100 characters.
PRINTABLE_ASCII: Final = frozenset(chr(code) for code in range(0x20, 0x7F))
file_names = st.text(min_size=1, max_size=300).filter(lambda name: "/" not in name)


def _accepted_by_sns(subject: str) -> bool:
    return 0 < len(subject) < 100 and set(subject) <= PRINTABLE_ASCII and subject == subject.strip()


@given(name=file_names, state=st.sampled_from(["FAILED", "TIMEOUT", "ERROR", "STOPPED"]))
def test_alert_for_failure_subject_is_accepted_by_sns(name: str, state: str) -> None:
    failure = GlueFailure(job_name="search-keyword-performance", run_id="jr_1", state=state, message="")
    alert = alert_for_failure(failure, {"Arguments": {"--input_uri": f"s3://inbound/2026/{name}"}}, "us-east-1")
    assert _accepted_by_sns(alert.subject)
    assert alert.subject.startswith(f"Search keyword job {state}:")


@given(name=file_names)
def test_alert_for_gave_up_subject_is_accepted_by_sns(name: str) -> None:
    item = LedgerItem(pk=f"s3://inbound/{name}", sk="etag#abc", status="GAVE_UP", attempts=3, updated_at="",
                      run_date="2026-11-21")  # fmt: skip
    alert = alert_for_gave_up(item, "search-keyword-performance", 3)
    assert _accepted_by_sns(alert.subject)
    assert alert.subject.startswith("Search keyword job GAVE UP:")


@given(name=file_names)
def test_alert_for_refused_start_subject_is_accepted_by_sns(name: str) -> None:
    refused = RefusedStart(pk=f"s3://inbound/{name}", sk="etag#abc", attempts=0, error="AccessDeniedException: no")
    alert = alert_for_refused_start(refused, "search-keyword-performance")
    assert _accepted_by_sns(alert.subject)
    assert alert.subject.startswith("Search keyword job GAVE UP:")


def test_alert_for_refused_start_says_why_and_what_to_do() -> None:
    error = "EntityNotFoundException: Job skp-search-keyword-performance not found."
    refused = RefusedStart(pk="s3://inbound/2026-11-21_hits.tsv", sk="etag#abc", attempts=1, error=error)
    body = alert_for_refused_start(refused, "skp-search-keyword-performance").body
    assert "Glue refused to start its run with an\nerror that another attempt cannot change" in body
    assert f"Glue said:   {error}" in body
    assert "Runs before: 1" in body
    assert "What happens next: nothing runs again by itself" in body
    assert "`make redrive KEY=s3://inbound/2026-11-21_hits.tsv`" in body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("job FAILED: hit data café (2).tsv", "job FAILED: hit data cafe (2).tsv", id="accents-dropped"),
        pytest.param("job FAILED: a\r\nb\tc\x00d\x7fe.tsv", "job FAILED: a b c d e.tsv", id="controls-to-spaces"),
        pytest.param("job FAILED: 売上.tsv", "job FAILED: ??.tsv", id="other-letters-marked"),
        pytest.param("x" * 120, "x" * 96 + "...", id="cut-marked"),
        pytest.param("x" * 99, "x" * 99, id="longest-kept"),
    ],
)
def test_subject_line_keeps_what_it_can(text: str, expected: str) -> None:
    assert subject_line(text) == expected

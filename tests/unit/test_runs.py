"""Which refusals of a Glue start another attempt may cure, and which it cannot."""

from __future__ import annotations

import pytest

from search_revenue.pipeline.runs import is_permanent_start_error


@pytest.mark.parametrize(
    ("code", "permanent"),
    [
        # StartJobRun's own errors (AWS Glue API reference).
        pytest.param("EntityNotFoundException", True, id="no-such-job"),
        pytest.param("InvalidInputException", True, id="invalid-input"),
        pytest.param("ConcurrentRunsExceededException", False, id="too-many-runs"),
        pytest.param("InternalServiceException", False, id="service-error"),
        pytest.param("OperationTimeoutException", False, id="timed-out"),
        pytest.param("ResourceNumberLimitExceededException", False, id="resource-limit"),
        # Errors common to AWS APIs (denials: see the test below).
        pytest.param("AccessDeniedException", False, id="access-denied"),
        pytest.param("AccessDenied", False, id="access-denied-query-protocol"),
        pytest.param("NotAuthorized", False, id="not-authorized"),
        pytest.param("ValidationException", True, id="validation"),
        pytest.param("ValidationError", True, id="validation-common"),
        pytest.param("ThrottlingException", False, id="throttled"),
        pytest.param("ServiceUnavailable", False, id="unavailable"),
        pytest.param("SomethingNew", False, id="unknown-code-is-retried"),
    ],
)
def test_is_permanent_start_error(code: str, permanent: bool) -> None:
    assert is_permanent_start_error(code) is permanent


@pytest.mark.parametrize("code", ["AccessDeniedException", "AccessDenied", "NotAuthorized"])
def test_a_denial_is_permanent_only_when_it_repeats(code: str) -> None:
    # IAM is eventually consistent: a role just created or changed may be denied once.
    assert not is_permanent_start_error(code, None)
    assert not is_permanent_start_error(code, "ConcurrentRunsExceededException: busy")
    assert is_permanent_start_error(code, f"{code}: not allowed")
    assert not is_permanent_start_error("ThrottlingException", f"{code}: not allowed")

"""A data file starts a run whatever the case of its suffix: the local flow's S3 notification is the template's."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import SAMPLE
from tests.emulation.test_local_flow import WORKED_EXAMPLE, run_local_flow


def test_upper_case_suffix_travels_to_the_outbound_bucket(tmp_path: Path) -> None:
    upper = tmp_path / "HITS.TSV"
    upper.write_bytes(SAMPLE.read_bytes())
    completed = run_local_flow(upper, share=tmp_path / "share")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert re.search(r"trigger handler: HITS\.TSV version \S+: Glue run", completed.stdout)
    assert completed.stdout.endswith(WORKED_EXAMPLE)

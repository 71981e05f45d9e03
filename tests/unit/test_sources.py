"""R1: compression is told by the file name, whatever the case of its suffix."""

from __future__ import annotations

import pytest

from search_revenue.report.input_versions import pinned_copy_uri
from search_revenue.report.sources import canonical_file_name, compression_of


@pytest.mark.parametrize(
    ("name", "compression", "canonical"),
    [
        pytest.param("hits.tsv", None, "hits.tsv", id="plain"),
        pytest.param("HITS.TSV", None, "HITS.TSV", id="plain-upper"),
        pytest.param("hits.tsv.gz", "gzip", "hits.tsv.gz", id="gz"),
        pytest.param("hits.tsv.GZ", "gzip", "hits.tsv.gz", id="gz-upper"),
        pytest.param("Hits.Tsv.Bz2", "bzip2", "Hits.Tsv.bz2", id="bz2-mixed"),
        pytest.param("hits.gzip", None, "hits.gzip", id="look-alike"),
    ],
)
def test_compression_is_told_by_suffix_in_any_case(name: str, compression: str | None, canonical: str) -> None:
    assert compression_of(name) == compression
    assert canonical_file_name(name) == canonical


def test_a_runs_copy_of_its_input_has_a_suffix_spark_decompresses() -> None:
    copy = pinned_copy_uri("s3://outbound/staging", "jr_1", "s3://inbound/drop/HITS.TSV.GZ")
    assert copy == "s3://outbound/staging/jr_1/HITS.TSV.gz"

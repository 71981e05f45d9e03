"""Open a local hit file, plain or compressed, as bytes (R1)."""

from __future__ import annotations

import bz2
import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

from search_revenue.errors import CorruptCompressionError, InputNotFoundError, InputNotTextError

READ_BUFFER_BYTES: Final = 1 << 20
COMPRESSION_ERRORS: Final = (OSError, EOFError, zlib.error)


COMPRESSION_SUFFIXES: Final = {".gz": "gzip", ".bz2": "bzip2"}


def _compression_suffix(path: str) -> str | None:
    """The compression suffix a name ends with, as written (any case), or None."""
    lowered = path.lower()
    return next((path[-len(suffix) :] for suffix in COMPRESSION_SUFFIXES if lowered.endswith(suffix)), None)


def compression_of(path: str) -> str | None:
    """Tell the compression of an input by its name, whatever the suffix's case: gzip, bzip2 or none (R1)."""
    suffix = _compression_suffix(path)
    return None if suffix is None else COMPRESSION_SUFFIXES[suffix.lower()]


def canonical_file_name(name: str) -> str:
    """The name with its compression suffix lower-cased (`hits.tsv.GZ` -> `hits.tsv.gz`), the rest verbatim.

    Hadoop, and so Spark, picks a codec by a case-sensitive suffix: copies a run makes of its input
    carry this name so an upper-case suffix is still decompressed.
    """
    suffix = _compression_suffix(name)
    return name if suffix is None else name[: -len(suffix)] + suffix.lower()


@contextmanager
def open_hit_file(path: str) -> Iterator[BinaryIO]:
    """Open an input for reading bytes, decompressing by file name (R1).

    Raises:
        InputNotFoundError: there is no such file.
        InputNotTextError: the path is a directory.
        CorruptCompressionError: the compressed stream cannot be read; also raised while reading.
    """
    file = Path(path)
    if not file.exists():
        raise InputNotFoundError(path)
    if not file.is_file():
        raise InputNotTextError(path, "not a regular file")
    compression = compression_of(path)
    raw = open(file, "rb", buffering=READ_BUFFER_BYTES)  # noqa: SIM115 - closed in finally
    stream: BinaryIO
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    elif compression == "bzip2":
        stream = bz2.BZ2File(raw, mode="rb")  # type: ignore[assignment]
    else:
        stream = raw
    try:
        yield stream
    except COMPRESSION_ERRORS as err:
        if compression is None:
            raise
        raise CorruptCompressionError(path, str(err) or type(err).__name__) from err
    finally:
        stream.close()
        raw.close()

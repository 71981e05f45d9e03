"""Errors this package raises on purpose; each message names what went wrong and where."""

from __future__ import annotations

from collections.abc import Iterable


class SearchRevenueError(Exception):
    """Base for failures this package raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # Our errors take their own arguments; rebuilt from the message, they cross process
        # boundaries (the stream engine's workers) with the text intact.
        return (_rebuild, (type(self), str(self)))


def _rebuild(cls: type[SearchRevenueError], message: str) -> SearchRevenueError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


class ConfigError(SearchRevenueError, ValueError):
    """A setting or job argument is missing or invalid."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"invalid {name}: {value!r} ({expected})")


class InputError(SearchRevenueError):
    """The input file cannot be used as a whole (R1)."""


class InputNotFoundError(InputError, FileNotFoundError):
    """The input file does not exist."""

    def __init__(self, source: str) -> None:
        super().__init__(f"{source}: no such file")


class InputNotTextError(InputError):
    """The input is not tab-separated UTF-8 text (R1)."""

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f"{source}: not a hit level text file: {detail}")


class CorruptCompressionError(InputError):
    """A `.gz` or `.bz2` input cannot be decompressed."""

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f"{source}: corrupt compressed input: {detail}")


class MissingColumnsError(InputError, ValueError):
    """The input header lacks required columns (R1)."""

    def __init__(self, source: str, missing: Iterable[str], present: Iterable[str]) -> None:
        self.missing = sorted(missing)
        self.present = list(present)
        super().__init__(
            f"{source}: missing required columns: {', '.join(self.missing)}"
            f" (header has: {', '.join(self.present) or 'nothing'})"
        )


class DuplicateColumnsError(InputError, ValueError):
    """A required column appears more than once in the header, so it is ambiguous (R1)."""

    def __init__(self, source: str, duplicated: Iterable[str]) -> None:
        self.duplicated = sorted(duplicated)
        super().__init__(f"{source}: required columns appear more than once: {', '.join(self.duplicated)}")


class RejectThresholdExceededError(SearchRevenueError):
    """More rows were rejected than the threshold allows (R2)."""

    def __init__(self, source: str, rejected: int, rows: int, max_ratio: float, first_reject: str) -> None:
        self.rejected = rejected
        self.rows = rows
        super().__init__(
            f"{source}: {rejected} of {rows} data rows rejected, more than the allowed ratio {max_ratio}"
            f" (first: {first_reject})"
        )


class AmountOverflowError(SearchRevenueError):
    """A revenue sum left the supported decimal range."""

    def __init__(self, what: str) -> None:
        super().__init__(f"revenue sum out of the supported range (38 digits, 12 decimals): {what}")


class InputVersionGoneError(InputError):
    """The input version a run was started for no longer exists, so the run reads nothing else instead."""

    def __init__(self, source: str, version: str, detail: str) -> None:
        self.version = version
        super().__init__(
            f"{source}: version {version} is gone ({detail}); the run reads only the version it was started for"
        )

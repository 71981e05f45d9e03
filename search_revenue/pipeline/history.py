"""The operator's view of the run ledger: per input file, the versions seen and what came of each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from search_revenue.pipeline.ledger import CONTENT_PREFIX, SUPERSEDED, LedgerItem


@dataclass(frozen=True, slots=True)
class FileHistory:
    """One input key: every version the trigger saw, the ones superseded, and each content's run."""

    pk: str
    versions_seen: tuple[str, ...]
    superseded: tuple[tuple[str, str], ...]  # (version, the version that replaced it)
    contents: tuple[LedgerItem, ...]  # newest first
    updated_at: str


def file_histories(items: Iterable[LedgerItem]) -> list[FileHistory]:
    """Group ledger items by input key, most recently changed file first."""
    by_key: dict[str, list[LedgerItem]] = {}
    for item in items:
        by_key.setdefault(item.pk, []).append(item)
    histories = []
    for pk, group in by_key.items():
        contents = sorted((i for i in group if i.sk.startswith(CONTENT_PREFIX)), key=_changed, reverse=True)
        replaced = sorted((i for i in group if i.status == SUPERSEDED), key=_received)
        seen = {version for item in contents for version in item.versions_seen}
        seen |= {item.version_id for item in group if item.version_id}
        replaced_versions = {item.version_id for item in replaced}
        # Same-second arrivals: a superseded version came before the one that replaced it.
        ordered = sorted(seen, key=lambda version: (_first_seen(version, group), version not in replaced_versions))
        histories.append(
            FileHistory(
                pk=pk,
                versions_seen=tuple(ordered),
                superseded=tuple((item.version_id or item.sk, item.superseded_by or "?") for item in replaced),
                contents=tuple(contents),
                updated_at=max(item.updated_at for item in group),
            )
        )
    return sorted(histories, key=lambda history: history.updated_at, reverse=True)


def _changed(item: LedgerItem) -> str:
    return item.updated_at


def _received(item: LedgerItem) -> str:
    return item.received_at or item.updated_at


def _first_seen(version: str, group: list[LedgerItem]) -> str:
    # Versions carry no time of their own here; the item that first named one dates it.
    return min((_received(item) for item in group if version in (item.version_id, *item.versions_seen)), default="")

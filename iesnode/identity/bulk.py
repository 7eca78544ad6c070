"""Bulk legacy-ID mapping of a CSV export, with a report of what did not map cleanly.

Each row's identifier (the column chosen by header name) goes through
:meth:`LegacyIdMap.map_forward`. Rows end up in exactly one list of the report:

* ``mapped``: one reference, and no other row maps a different identifier to it;
* ``unmapped``: empty cell, or no rule or pair matches (the reason says which);
* ``conflicts``: the identifier maps to several references (one-to-many), or two
  different identifiers of the export map to the same reference (many-to-one); such
  rows are never merged, all rows involved are listed.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from iesnode.errors import ConfigError
from iesnode.identity.errors import MappingConflict, NoMapping
from iesnode.identity.identifiers import IdentifierScheme
from iesnode.identity.mapping import LegacyIdMap

__all__ = ["BulkReport", "ConflictRow", "MappedRow", "UnmappedRow", "map_csv", "map_rows"]


@dataclass(frozen=True, slots=True)
class MappedRow:
    """Row ``line`` (CSV line number) mapped ``local`` to ``reference``."""

    line: int
    local: str
    reference: str


@dataclass(frozen=True, slots=True)
class UnmappedRow:
    """Row ``line`` could not be mapped, for ``reason``."""

    line: int
    local: str
    reason: str


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """Row ``line`` takes part in a conflict; ``references`` are the competing answers."""

    line: int
    local: str
    references: tuple[str, ...]
    reason: str


@dataclass(slots=True)
class BulkReport:
    """The outcome of a bulk mapping; every input row is in exactly one list."""

    mapped: list[MappedRow] = field(default_factory=list)
    unmapped: list[UnmappedRow] = field(default_factory=list)
    conflicts: list[ConflictRow] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when every row mapped without conflict."""
        return not self.unmapped and not self.conflicts

    def summary(self) -> dict[str, int]:
        """Row counts per outcome."""
        return {
            "mapped": len(self.mapped),
            "unmapped": len(self.unmapped),
            "conflicts": len(self.conflicts),
        }


def map_rows(
    mapper: LegacyIdMap,
    rows: Iterable[tuple[int, str]],
    *,
    scheme: IdentifierScheme | None = None,
) -> BulkReport:
    """Map ``(line, local)`` pairs and sort each into the report."""
    report = BulkReport()
    candidates: list[MappedRow] = []
    for line, raw in rows:
        local = raw.strip()
        if not local:
            report.unmapped.append(UnmappedRow(line, raw, "empty cell"))
            continue
        try:
            candidates.append(MappedRow(line, local, mapper.map_forward(local, scheme=scheme)))
        except NoMapping as exc:
            report.unmapped.append(UnmappedRow(line, local, exc.reason))
        except MappingConflict as exc:
            rules = ", ".join(rule for rule, _ in exc.candidates)
            references = tuple(sorted({ref for _, ref in exc.candidates}))
            reason = f"one-to-many: rules {rules} disagree"
            report.conflicts.append(ConflictRow(line, local, references, reason))
    by_reference: dict[str, list[MappedRow]] = defaultdict(list)
    for row in candidates:
        by_reference[row.reference].append(row)
    for row in candidates:
        sharing = by_reference[row.reference]
        locals_ = sorted({other.local for other in sharing})
        if len(locals_) == 1:
            report.mapped.append(row)
        else:
            reason = f"many-to-one: {', '.join(map(repr, locals_))} map to the same reference"
            report.conflicts.append(ConflictRow(row.line, row.local, (row.reference,), reason))
    report.conflicts.sort(key=lambda r: r.line)
    return report


def map_csv(
    mapper: LegacyIdMap,
    path: Path,
    *,
    column: str,
    scheme: IdentifierScheme | None = None,
    encoding: str = "utf-8-sig",
) -> BulkReport:
    """Map column ``column`` of the CSV export at ``path`` (first line is the header)."""
    with path.open(newline="", encoding=encoding) as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or column not in reader.fieldnames:
            header = list(reader.fieldnames or [])
            raise ConfigError(f"{path}: no column {column!r} (header: {header})")
        rows = [(reader.line_num, str(row.get(column) or "")) for row in reader]
    return map_rows(mapper, rows, scheme=scheme)

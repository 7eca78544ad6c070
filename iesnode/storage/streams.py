"""Reading Redis Stream replies whichever protocol (RESP2 or RESP3) the client speaks.

Shared by the callback inbox and the outbox, the two seams built on Redis Streams.
"""

from __future__ import annotations

__all__ = ["Fields", "as_bytes", "as_text", "entry_field", "single_stream_entries"]

Fields = dict[bytes | str, bytes | str]
"""One stream entry's field map (bytes, or str with ``decode_responses``)."""


def as_bytes(value: bytes | str) -> bytes:
    """A reply value as bytes."""
    return value.encode() if isinstance(value, str) else value


def as_text(value: bytes | str) -> str:
    """A reply value as text (entry ids, cursors)."""
    return value.decode() if isinstance(value, bytes) else value


def entry_field(fields: Fields | None, name: str) -> bytes | None:
    """The value of field ``name`` of an entry, or None (absent, or the entry was deleted)."""
    if not fields:
        return None
    value = fields.get(name.encode(), fields.get(name))
    return None if value is None else as_bytes(value)


def single_stream_entries(response: object) -> list[tuple[bytes | str, Fields | None]]:
    """Entries of the one stream an XREAD/XREADGROUP asked for.

    RESP2 answers ``[[name, entries]]``; RESP3 answers ``{name: entries}`` (some client
    versions wrap the entries once more). Deleted entries come back with no fields.
    """
    if not response:
        return []
    if isinstance(response, dict):
        batch = next(iter(response.values()))
        if batch and isinstance(batch[0], list):
            batch = batch[0]
    else:
        assert isinstance(response, list)
        batch = response[0][1]
    return [(entry[0], entry[1]) for entry in batch if entry[0] is not None]

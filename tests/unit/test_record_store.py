"""RecordStore: the same behaviour in memory and in SQLite, plus SQLite durability and locking."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iesnode.errors import ConfigError
from iesnode.interfaces import RecordStore, RecordVersion
from iesnode.storage.records import MemoryRecordStore
from iesnode.storage.sqlite import SqliteRecordStore

T0 = 1_750_000_000.0
KIND = "participant"


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RecordStore]:
    """Each implementation of the seam, fresh per test."""
    impl: RecordStore
    if request.param == "memory":
        impl = MemoryRecordStore()
    else:
        impl = await SqliteRecordStore.open(tmp_path / "records.db")
    try:
        yield impl
    finally:
        await impl.aclose()


async def test_versions_count_up_from_one_per_key(store: RecordStore) -> None:
    """The first write of a key is version 1, each later write one more; keys count apart."""
    assert await store.put(KIND, "a", b"1", actor="x", at=T0) == 1
    assert await store.put(KIND, "a", b"2", actor="x", at=T0 + 1) == 2
    assert await store.put(KIND, "b", b"1", actor="x", at=T0 + 2) == 1
    assert await store.put("other", "a", b"1", actor="x", at=T0 + 3) == 1


async def test_get_returns_the_latest_version_with_every_field(store: RecordStore) -> None:
    """Without as_on, get answers the last write, with its data, actor and time."""
    await store.put(KIND, "a", b"old", actor="alice", at=T0)
    await store.put(KIND, "a", b"new", actor="admin:k1", at=T0 + 5)
    assert await store.get(KIND, "a") == RecordVersion(
        kind=KIND, key="a", version=2, data=b"new", actor="admin:k1", written_at=T0 + 5
    )


async def test_get_unknown_key_or_other_kind_is_none(store: RecordStore) -> None:
    """A key never written, or written under another kind, is not found."""
    await store.put("institution", "a", b"{}", actor="x", at=T0)
    assert await store.get(KIND, "a") is None
    assert await store.get(KIND, "missing") is None


async def test_get_as_on_answers_as_it_was_then(store: RecordStore) -> None:
    """as_on picks the last version written at or before it; before the first write, None."""
    await store.put(KIND, "a", b"v1", actor="x", at=T0)
    await store.put(KIND, "a", b"v2", actor="x", at=T0 + 10)
    assert await store.get(KIND, "a", as_on=T0 - 1) is None
    assert (await store.get(KIND, "a", as_on=T0)).data == b"v1"  # type: ignore[union-attr]
    assert (await store.get(KIND, "a", as_on=T0 + 9.9)).data == b"v1"  # type: ignore[union-attr]
    assert (await store.get(KIND, "a", as_on=T0 + 10)).data == b"v2"  # type: ignore[union-attr]


async def test_scan_returns_latest_version_per_key_by_prefix(store: RecordStore) -> None:
    """scan gives one (latest) version per key of the kind under the prefix, ordered by key."""
    await store.put(KIND, "ns/reg/b|k1", b"b1", actor="x", at=T0)
    await store.put(KIND, "ns/reg/a|k1", b"a1", actor="x", at=T0 + 1)
    await store.put(KIND, "ns/reg/b|k1", b"b2", actor="x", at=T0 + 2)
    await store.put(KIND, "ns/other/a|k1", b"o1", actor="x", at=T0 + 3)
    await store.put("institution", "ns/reg/c", b"i1", actor="x", at=T0 + 4)
    found = await store.scan(KIND, prefix="ns/reg/")
    assert [(v.key, v.version, v.data) for v in found] == [
        ("ns/reg/a|k1", 1, b"a1"),
        ("ns/reg/b|k1", 2, b"b2"),
    ]
    assert len(await store.scan(KIND)) == 3


async def test_scan_as_on_leaves_out_later_keys_and_versions(store: RecordStore) -> None:
    """scan as_on T ignores keys first written after T and versions written after T."""
    await store.put(KIND, "a", b"a1", actor="x", at=T0)
    await store.put(KIND, "a", b"a2", actor="x", at=T0 + 10)
    await store.put(KIND, "b", b"b1", actor="x", at=T0 + 10)
    found = await store.scan(KIND, as_on=T0 + 5)
    assert [(v.key, v.data) for v in found] == [("a", b"a1")]


async def test_scan_prefix_is_literal(store: RecordStore) -> None:
    """Characters that are wildcards elsewhere (% _ * ?) match only themselves."""
    await store.put(KIND, "a%_*?b", b"1", actor="x", at=T0)
    await store.put(KIND, "aXYZZb", b"2", actor="x", at=T0)
    assert [v.key for v in await store.scan(KIND, prefix="a%_*?")] == ["a%_*?b"]
    assert await store.scan(KIND, prefix="nothing") == []


async def test_history_lists_every_version_oldest_first(store: RecordStore) -> None:
    """history keeps every write; an unknown key has none."""
    for n in range(3):
        await store.put(KIND, "a", f"v{n}".encode(), actor=f"w{n}", at=T0 + n)
    history = await store.history(KIND, "a")
    assert [(v.version, v.data, v.actor) for v in history] == [
        (1, b"v0", "w0"),
        (2, b"v1", "w1"),
        (3, b"v2", "w2"),
    ]
    assert await store.history(KIND, "b") == []


async def test_write_time_never_goes_backwards(store: RecordStore) -> None:
    """A write stamped before the previous version is stamped with the previous time."""
    await store.put(KIND, "a", b"v1", actor="x", at=T0 + 10)
    await store.put(KIND, "a", b"v2", actor="x", at=T0)
    assert [v.written_at for v in await store.history(KIND, "a")] == [T0 + 10, T0 + 10]
    assert (await store.get(KIND, "a", as_on=T0 + 10)).data == b"v2"  # type: ignore[union-attr]


async def test_non_finite_write_time_is_refused(store: RecordStore) -> None:
    """NaN or infinite write times would break as_on ordering, so they are refused."""
    for at in (math.nan, math.inf):
        with pytest.raises(ValueError, match="finite"):
            await store.put(KIND, "a", b"x", actor="x", at=at)
    assert await store.history(KIND, "a") == []


async def test_concurrent_puts_get_distinct_versions(store: RecordStore) -> None:
    """Many puts of one key at once get versions 1..n, each exactly once."""
    versions = await asyncio.gather(
        *(store.put(KIND, "a", str(n).encode(), actor="x", at=T0) for n in range(40))
    )
    assert sorted(versions) == list(range(1, 41))


async def test_use_after_close_is_refused(store: RecordStore) -> None:
    """A closed store raises instead of answering; closing again is harmless."""
    await store.aclose()
    await store.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await store.get(KIND, "a")


OPS = st.lists(
    st.tuples(
        st.sampled_from(["p", "q"]),
        st.sampled_from(["a", "a/b", "a/c", "b", "é/ü"]),
        st.integers(min_value=-5, max_value=20),
    ),
    max_size=15,
)


@settings(max_examples=25, deadline=None)
@given(
    ops=OPS, as_on=st.integers(min_value=-6, max_value=21), prefix=st.sampled_from(["", "a", "a/"])
)
def test_memory_and_sqlite_answer_alike(
    ops: list[tuple[str, str, int]], as_on: int, prefix: str
) -> None:
    """After any sequence of writes, both stores answer get/scan/history identically."""

    async def answers(impl: RecordStore) -> list[object]:
        for n, (kind, key, at) in enumerate(ops):
            await impl.put(kind, key, str(n).encode(), actor="x", at=T0 + at)
        out: list[object] = []
        for kind in ("p", "q"):
            out.append(await impl.scan(kind, prefix=prefix, as_on=T0 + as_on))
            out.append(await impl.scan(kind, prefix=prefix))
            for key in ("a", "a/b", "é/ü"):
                out.append(await impl.get(kind, key, as_on=T0 + as_on))
                out.append(await impl.history(kind, key))
        await impl.aclose()
        return out

    async def both() -> tuple[list[object], list[object]]:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_store = await SqliteRecordStore.open(Path(tmp) / "r.db")
            return await answers(MemoryRecordStore()), await answers(sqlite_store)

    memory, sqlite = asyncio.run(both())
    assert memory == sqlite


async def test_sqlite_records_survive_close_and_reopen(tmp_path: Path) -> None:
    """Everything written is read back, versions continue, after the file is reopened."""
    path = tmp_path / "data" / "records.db"
    store = await SqliteRecordStore.open(path)
    await store.put(KIND, "a", b"v1", actor="alice", at=T0)
    await store.put(KIND, "a", b"v2", actor="bob", at=T0 + 1)
    before = await store.history(KIND, "a")
    await store.aclose()
    reopened = await SqliteRecordStore.open(path)
    try:
        assert await reopened.history(KIND, "a") == before
        assert await reopened.put(KIND, "a", b"v3", actor="carol", at=T0 + 2) == 3
    finally:
        await reopened.aclose()


async def test_sqlite_file_uses_wal_and_records_its_schema_version(tmp_path: Path) -> None:
    """The file is in WAL mode and its schema_version table says 1."""
    path = tmp_path / "records.db"
    await (await SqliteRecordStore.open(path)).aclose()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    raw.close()


async def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    """A file migrated by a newer iesnode is refused with ConfigError, not misread."""
    path = tmp_path / "records.db"
    await (await SqliteRecordStore.open(path)).aclose()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema_version SET version = 99")
    raw.close()
    with pytest.raises(ConfigError, match="schema version 99"):
        await SqliteRecordStore.open(path)


async def test_sqlite_versions_cannot_be_rewritten(tmp_path: Path) -> None:
    """Triggers refuse UPDATE and DELETE on stored versions."""
    path = tmp_path / "records.db"
    store = await SqliteRecordStore.open(path)
    await store.put(KIND, "a", b"v1", actor="x", at=T0)
    await store.aclose()
    raw = sqlite3.connect(path)
    try:
        for statement in ("UPDATE records SET data = x'00'", "DELETE FROM records"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                raw.execute(statement)
    finally:
        raw.close()


async def test_sqlite_two_stores_on_one_file_never_share_a_version(tmp_path: Path) -> None:
    """Two connections writing one key at once still get versions 1..n, each once."""
    path = tmp_path / "records.db"
    first = await SqliteRecordStore.open(path)
    second = await SqliteRecordStore.open(path)
    try:
        versions = await asyncio.gather(
            *(
                (first if n % 2 else second).put(KIND, "a", b"x", actor=str(n), at=T0)
                for n in range(40)
            )
        )
        assert sorted(versions) == list(range(1, 41))
        assert [v.version for v in await first.history(KIND, "a")] == list(range(1, 41))
    finally:
        await first.aclose()
        await second.aclose()


async def test_sqlite_open_of_an_unusable_path_fails(tmp_path: Path) -> None:
    """A path that cannot be a database file raises at open instead of at first use."""
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(sqlite3.OperationalError):
        await SqliteRecordStore.open(tmp_path / "dir.db")

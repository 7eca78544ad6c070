"""The issuer's status lists: random allocation, revoke/suspend/resume, persistence, ETags."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from iesnode.clock import FrozenClock
from iesnode.credentials.errors import CredentialError
from iesnode.credentials.status_list import MINIMUM_BITS, StatusPurpose, check_status, decode
from iesnode.credentials.status_registry import (
    ALLOCATION_KIND,
    STATUS_LIST_KIND,
    StatusLists,
)
from iesnode.interfaces import RecordStore
from iesnode.storage.records import MemoryRecordStore
from iesnode.storage.sqlite import SqliteRecordStore

T0 = 1_750_000_000.0
ISSUER = "did:web:dso.example"
URLS: dict[StatusPurpose, str] = {
    "revocation": "https://dso.example/status/revocation",
    "suspension": "https://dso.example/status/suspension",
}


@pytest.fixture
def clock() -> FrozenClock:
    """A clock stopped at T0."""
    return FrozenClock(T0)


@pytest.fixture
def store() -> MemoryRecordStore:
    """A fresh in-memory record store."""
    return MemoryRecordStore()


@pytest.fixture
def lists(store: MemoryRecordStore, clock: FrozenClock) -> StatusLists:
    """The status lists of ISSUER over the in-memory store."""
    return StatusLists(store, clock, issuer=ISSUER, list_urls=URLS)


async def test_allocation_returns_an_entry_per_purpose_for_one_index(lists: StatusLists) -> None:
    """One allocated index yields a revocation and a suspension entry pointing at it."""
    allocation = await lists.allocate()
    assert 0 <= allocation.index < MINIMUM_BITS
    assert [entry["statusPurpose"] for entry in allocation.entries] == ["revocation", "suspension"]
    for entry in allocation.entries:
        assert entry["statusListIndex"] == str(allocation.index)
        assert entry["statusListCredential"] == URLS[entry["statusPurpose"]]


async def test_allocation_never_repeats_and_is_not_sequential(lists: StatusLists) -> None:
    """300 allocations are distinct and not handed out in order."""
    indexes = [(await lists.allocate()).index for _ in range(300)]
    assert len(set(indexes)) == len(indexes)
    assert indexes != sorted(indexes)


async def test_allocation_fills_a_dense_list_then_refuses(
    store: MemoryRecordStore, clock: FrozenClock
) -> None:
    """When nearly every index is taken, the free ones are still found, then allocation stops."""
    lists = StatusLists(store, clock, issuer=ISSUER, list_urls=URLS)
    taken = [(await lists.allocate()).index]
    record = await store.get(ALLOCATION_KIND, ISSUER)
    assert record is not None
    full = decode(json.loads(record.data)["encodedList"])
    free = [taken[0], 12345 if taken[0] != 12345 else 54321]
    for index in range(MINIMUM_BITS):
        full.set(index, index not in free)
    document = {"length": MINIMUM_BITS, "encodedList": full.encode()}
    await store.put(ALLOCATION_KIND, ISSUER, json.dumps(document).encode(), actor="t", at=T0)
    assert (await lists.allocate()).index in free
    assert (await lists.allocate()).index in free
    with pytest.raises(CredentialError, match="all 131072 status list indexes are allocated"):
        await lists.allocate()


async def test_revoke_sets_the_bit_in_the_published_list(lists: StatusLists) -> None:
    """After revoke, is_revoked is True and the served list credential shows the bit."""
    allocation = await lists.allocate()
    assert not await lists.is_revoked(allocation.index)
    await lists.revoke(allocation.index)
    assert await lists.is_revoked(allocation.index)
    assert not await lists.is_suspended(allocation.index)
    snapshot = await lists.snapshot("revocation")
    assert check_status(allocation.entries[0], snapshot.credential) is True
    suspension = await lists.snapshot("suspension")
    assert check_status(allocation.entries[1], suspension.credential) is False


async def test_suspend_then_resume_round_trip(lists: StatusLists) -> None:
    """Suspension is reversible: suspended, then resumed, shows in the list each time."""
    allocation = await lists.allocate()
    entry = allocation.entries[1]
    await lists.suspend(allocation.index)
    assert check_status(entry, (await lists.snapshot("suspension")).credential) is True
    await lists.resume(allocation.index)
    assert not await lists.is_suspended(allocation.index)
    assert check_status(entry, (await lists.snapshot("suspension")).credential) is False


async def test_revocation_cannot_be_undone(lists: StatusLists) -> None:
    """Clearing a revocation bit is refused with a clear reason and the bit stays set."""
    allocation = await lists.allocate()
    await lists.revoke(allocation.index)
    with pytest.raises(CredentialError, match="revocation cannot be undone"):
        await lists.update("revocation", allocation.index, False)
    assert await lists.is_revoked(allocation.index)


async def test_clearing_an_unrevoked_bit_is_a_harmless_no_op(lists: StatusLists) -> None:
    """Asking to clear a revocation bit that is not set changes nothing."""
    allocation = await lists.allocate()
    before = (await lists.snapshot("revocation")).version
    assert await lists.update("revocation", allocation.index, False) == before


@pytest.mark.parametrize("index", [-1, 7, MINIMUM_BITS])
async def test_unallocated_indexes_cannot_be_changed(lists: StatusLists, index: int) -> None:
    """Revoking or suspending an index never handed out is refused."""
    if (await lists.allocate()).index == index:
        index += 1
    with pytest.raises(CredentialError, match="never allocated"):
        await lists.revoke(index)
    with pytest.raises(CredentialError, match="never allocated"):
        await lists.suspend(index)


async def test_versions_and_etags_change_only_with_the_bits(
    lists: StatusLists, clock: FrozenClock
) -> None:
    """Repeated revokes keep the version; a real change bumps version, ETag and validFrom."""
    allocation = await lists.allocate()
    first = await lists.snapshot("revocation")
    assert first.etag == f'W/"revocation-{first.version}"'
    assert first.credential["validFrom"] == "2025-06-15T15:06:40Z"
    clock.advance(60)
    version = await lists.revoke(allocation.index)
    assert version == first.version + 1
    assert await lists.revoke(allocation.index) == version
    second = await lists.snapshot("revocation")
    assert (second.version, second.last_modified) == (version, T0 + 60)
    assert second.etag != first.etag
    assert second.credential["validFrom"] == "2025-06-15T15:07:40Z"
    assert (await lists.snapshot("revocation")).credential == second.credential


async def test_list_credential_is_unsigned_and_names_the_issuer(lists: StatusLists) -> None:
    """The snapshot credential carries the configured id, issuer and purpose, and no proof."""
    credential = (await lists.snapshot("suspension")).credential
    assert credential["id"] == URLS["suspension"]
    assert credential["issuer"] == ISSUER
    assert credential["credentialSubject"]["statusPurpose"] == "suspension"
    assert "proof" not in credential


async def test_historical_snapshot_answers_as_on(lists: StatusLists, clock: FrozenClock) -> None:
    """A snapshot as on an earlier time shows the list before a later revocation."""
    allocation = await lists.allocate()
    await lists.snapshot("revocation")
    clock.advance(100)
    await lists.revoke(allocation.index)
    earlier = await lists.snapshot("revocation", as_on=T0 + 50)
    assert check_status(allocation.entries[0], earlier.credential) is False
    with pytest.raises(CredentialError, match="no revocation list existed"):
        await lists.snapshot("revocation", as_on=T0 - 1)


async def test_lists_of_two_issuers_are_independent(
    store: MemoryRecordStore, clock: FrozenClock
) -> None:
    """Two issuers on one store keep separate bits and separate allocations."""
    first = StatusLists(store, clock, issuer=ISSUER, list_urls=URLS)
    other_urls: dict[StatusPurpose, str] = {
        purpose: url.replace("dso", "retailer") for purpose, url in URLS.items()
    }
    second = StatusLists(store, clock, issuer="did:web:retailer.example", list_urls=other_urls)
    allocation = await first.allocate()
    await first.revoke(allocation.index)
    assert not await second.is_revoked(allocation.index)
    with pytest.raises(CredentialError, match="never allocated"):
        await second.revoke(allocation.index)


@pytest.fixture(params=["memory", "sqlite"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RecordStore]:
    """Each RecordStore implementation."""
    impl: RecordStore
    if request.param == "memory":
        impl = MemoryRecordStore()
    else:
        impl = await SqliteRecordStore.open(tmp_path / "records.db")
    try:
        yield impl
    finally:
        await impl.aclose()


async def test_a_new_service_on_the_same_store_sees_the_same_state(
    any_store: RecordStore, clock: FrozenClock
) -> None:
    """Bits, allocations and versions survive into a second StatusLists over the store."""
    writer = StatusLists(any_store, clock, issuer=ISSUER, list_urls=URLS)
    revoked, suspended = (await writer.allocate()).index, (await writer.allocate()).index
    await writer.revoke(revoked)
    await writer.suspend(suspended)
    reader = StatusLists(any_store, clock, issuer=ISSUER, list_urls=URLS)
    assert await reader.is_revoked(revoked)
    assert await reader.is_suspended(suspended)
    assert not await reader.is_revoked(suspended)
    assert (await reader.snapshot("revocation")).version == (
        await writer.snapshot("revocation")
    ).version
    await reader.resume(suspended)  # the reader knows the index was allocated
    later = {(await reader.allocate()).index for _ in range(50)}
    assert not later & {revoked, suspended}
    history = await any_store.history(STATUS_LIST_KIND, f"{ISSUER}#suspension")
    assert [version.version for version in history] == [1, 2, 3]


@pytest.mark.parametrize(
    ("urls", "reason"),
    [
        ({"revocation": URLS["revocation"]}, "missing"),
        ({"revocation": URLS["revocation"], "suspension": URLS["revocation"]}, "distinct"),
    ],
)
def test_configuration_errors_are_refused(
    store: MemoryRecordStore, clock: FrozenClock, urls: dict[StatusPurpose, str], reason: str
) -> None:
    """Missing or shared list URLs are refused at construction."""
    with pytest.raises(ValueError, match=reason):
        StatusLists(store, clock, issuer=ISSUER, list_urls=urls)


def test_short_lists_cannot_be_configured(store: MemoryRecordStore, clock: FrozenClock) -> None:
    """A length below the spec minimum is refused at construction."""
    with pytest.raises(ValueError, match="at least 131072"):
        StatusLists(store, clock, issuer=ISSUER, list_urls=URLS, length=1024)

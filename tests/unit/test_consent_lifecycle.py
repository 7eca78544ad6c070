"""The consent lifecycle: every legal and illegal transition, expiry, status bits, replace."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from iesnode.clock import FrozenClock
from iesnode.consent.audit import AuditEvent, AuditLog
from iesnode.consent.errors import ConsentError
from iesnode.consent.lifecycle import ConsentLedger, ConsentRecord, ConsentStatus
from iesnode.protocol.signing import load_signing_key
from iesnode.storage.records import MemoryRecordStore
from tests.unit.test_consent_artefact import T0, make_terms

SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
SIGNING_KEY = load_signing_key(base64.b64encode(bytes.fromhex(SEED)).decode())


class MemoryStatusBits:
    """Suspension and revocation bits in two sets; indexes handed out in order."""

    def __init__(self) -> None:
        self.next_index = 7
        self.suspended: set[int] = set()
        self.revoked: set[int] = set()
        self.fail = False

    async def allocate(self) -> int:
        self.next_index += 1
        return self.next_index

    def _check(self) -> None:
        if self.fail:
            raise RuntimeError("status list unavailable")

    async def suspend(self, index: int) -> None:
        self._check()
        self.suspended.add(index)

    async def resume(self, index: int) -> None:
        self._check()
        self.suspended.discard(index)

    async def revoke(self, index: int) -> None:
        self._check()
        self.revoked.add(index)


class Harness:
    """A ledger over memory stores, a frozen clock at T0 and an audit log."""

    def __init__(self) -> None:
        self.clock = FrozenClock(T0.timestamp())
        self.bits = MemoryStatusBits()
        self.store = MemoryRecordStore()
        self.audit = AuditLog(self.store, self.clock, SIGNING_KEY)
        self.ledger = ConsentLedger(self.store, self.bits, self.clock, audit=self.audit)

    async def at_status(self, status: ConsentStatus) -> ConsentRecord:
        """A consent brought to ``status`` through legal transitions."""
        record = await self.ledger.request(make_terms())
        cid = record.consent_id
        steps: dict[ConsentStatus, list[Callable[[str], Awaitable[ConsentRecord]]]] = {
            ConsentStatus.REQUESTED: [],
            ConsentStatus.APPROVED: [self.ledger.approve],
            ConsentStatus.REJECTED: [self.ledger.reject],
            ConsentStatus.ACTIVE: [self.ledger.approve, self.ledger.activate],
            ConsentStatus.PAUSED: [self.ledger.approve, self.ledger.activate, self.ledger.pause],
            ConsentStatus.REVOKED: [self.ledger.approve, self.ledger.activate, self.ledger.revoke],
        }
        for step in steps[status]:
            record = await step(cid)
        return record


@pytest.fixture
def harness() -> Harness:
    """A fresh ledger."""
    return Harness()


def _action(harness: Harness, name: str) -> Callable[[str], Awaitable[ConsentRecord]]:
    action: Callable[[str], Awaitable[ConsentRecord]] = getattr(harness.ledger, name)
    return action


LEGAL = [
    (ConsentStatus.REQUESTED, "approve", ConsentStatus.APPROVED),
    (ConsentStatus.REQUESTED, "reject", ConsentStatus.REJECTED),
    (ConsentStatus.APPROVED, "activate", ConsentStatus.ACTIVE),
    (ConsentStatus.ACTIVE, "pause", ConsentStatus.PAUSED),
    (ConsentStatus.PAUSED, "resume", ConsentStatus.ACTIVE),
    (ConsentStatus.ACTIVE, "revoke", ConsentStatus.REVOKED),
    (ConsentStatus.PAUSED, "revoke", ConsentStatus.REVOKED),
]
ACTIONS = ("approve", "reject", "activate", "pause", "resume", "revoke")
ILLEGAL = [
    (start, name)
    for start in ConsentStatus
    if start is not ConsentStatus.EXPIRED
    for name in ACTIONS
    if not any(s is start and n == name for s, n, _ in LEGAL)
]


@pytest.mark.parametrize(("start", "name", "end"), LEGAL)
async def test_legal_transition_is_stored(
    harness: Harness, start: ConsentStatus, name: str, end: ConsentStatus
) -> None:
    """Each legal transition gives the new status, also on a later read."""
    record = await harness.at_status(start)
    moved = await _action(harness, name)(record.consent_id)
    assert moved.status is end
    assert (await harness.ledger.get(record.consent_id)).status is end


@pytest.mark.parametrize(("start", "name"), ILLEGAL)
async def test_illegal_transition_is_refused(
    harness: Harness, start: ConsentStatus, name: str
) -> None:
    """Every other transition raises CONSENT_ILLEGAL_TRANSITION and changes nothing."""
    record = await harness.at_status(start)
    with pytest.raises(ConsentError) as info:
        await _action(harness, name)(record.consent_id)
    assert info.value.code == "CONSENT_ILLEGAL_TRANSITION"
    assert str(start) in info.value.reason
    assert (await harness.ledger.get(record.consent_id)).status is start


async def test_request_starts_requested_with_no_status_index(harness: Harness) -> None:
    """A request is REQUESTED, by the default actor, without a status-list index yet."""
    record = await harness.ledger.request(make_terms(), consent_id="urn:uuid:c-1")
    assert (record.status, record.consent_id, record.status_index) == (
        ConsentStatus.REQUESTED,
        "urn:uuid:c-1",
        None,
    )


async def test_request_with_an_existing_id_is_refused(harness: Harness) -> None:
    """The same id cannot be requested twice."""
    await harness.ledger.request(make_terms(), consent_id="urn:uuid:c-1")
    with pytest.raises(ConsentError) as info:
        await harness.ledger.request(make_terms(), consent_id="urn:uuid:c-1")
    assert info.value.code == "CONSENT_EXISTS"


async def test_unknown_consent_is_not_found(harness: Harness) -> None:
    """Reading or moving an unknown consent raises CONSENT_NOT_FOUND."""
    with pytest.raises(ConsentError) as info:
        await harness.ledger.pause("urn:uuid:nope")
    assert info.value.code == "CONSENT_NOT_FOUND"


async def test_activation_allocates_a_status_index(harness: Harness) -> None:
    """Activation takes a fresh status-list index and keeps it afterwards."""
    record = await harness.at_status(ConsentStatus.ACTIVE)
    assert record.status_index == 8
    paused = await harness.ledger.pause(record.consent_id)
    assert paused.status_index == 8


async def test_pause_and_resume_flip_the_suspension_bit(harness: Harness) -> None:
    """Pause sets the suspension bit, resume clears it; revocation stays clear."""
    record = await harness.at_status(ConsentStatus.ACTIVE)
    await harness.ledger.pause(record.consent_id)
    assert harness.bits.suspended == {8}
    await harness.ledger.resume(record.consent_id)
    assert harness.bits.suspended == set()
    assert harness.bits.revoked == set()


async def test_revoke_sets_the_revocation_bit(harness: Harness) -> None:
    """Revocation sets the revocation bit of the consent's index, with the reason kept."""
    record = await harness.at_status(ConsentStatus.PAUSED)
    revoked = await harness.ledger.revoke(record.consent_id, reason="consumer withdrew")
    assert harness.bits.revoked == {8}
    assert revoked.reason == "consumer withdrew"


async def test_failed_status_bit_leaves_the_consent_unchanged(harness: Harness) -> None:
    """When the status list cannot be updated, the stored status does not move."""
    record = await harness.at_status(ConsentStatus.ACTIVE)
    harness.bits.fail = True
    with pytest.raises(RuntimeError):
        await harness.ledger.revoke(record.consent_id)
    assert (await harness.ledger.get(record.consent_id)).status is ConsentStatus.ACTIVE


@pytest.mark.parametrize(
    "start",
    [ConsentStatus.REQUESTED, ConsentStatus.APPROVED, ConsentStatus.ACTIVE, ConsentStatus.PAUSED],
)
async def test_non_terminal_consent_expires_by_time(harness: Harness, start: ConsentStatus) -> None:
    """Past validUntil every non-terminal consent reads as EXPIRED."""
    record = await harness.at_status(start)
    harness.clock.advance(timedelta(days=181).total_seconds())
    assert (await harness.ledger.get(record.consent_id)).status is ConsentStatus.EXPIRED


async def test_expiry_starts_exactly_at_valid_until(harness: Harness) -> None:
    """validUntil is exclusive: one second before it the consent is still ACTIVE."""
    record = await harness.at_status(ConsentStatus.ACTIVE)
    until = record.artefact.validity.valid_until
    assert (await harness.ledger.get(record.consent_id, until - timedelta(seconds=1))).status is (
        ConsentStatus.ACTIVE
    )
    assert (await harness.ledger.get(record.consent_id, until)).status is ConsentStatus.EXPIRED


async def test_terminal_states_do_not_become_expired(harness: Harness) -> None:
    """A revoked consent stays REVOKED after its validity ends."""
    record = await harness.at_status(ConsentStatus.REVOKED)
    harness.clock.advance(timedelta(days=400).total_seconds())
    assert (await harness.ledger.get(record.consent_id)).status is ConsentStatus.REVOKED


async def test_expired_consent_cannot_be_resumed(harness: Harness) -> None:
    """An expired consent refuses every transition, naming EXPIRED."""
    record = await harness.at_status(ConsentStatus.PAUSED)
    harness.clock.advance(timedelta(days=181).total_seconds())
    with pytest.raises(ConsentError, match="EXPIRED") as info:
        await harness.ledger.resume(record.consent_id)
    assert info.value.code == "CONSENT_ILLEGAL_TRANSITION"


async def test_get_answers_as_of_a_past_time(harness: Harness) -> None:
    """get(id, at) gives the status the consent had at that time."""
    record = await harness.at_status(ConsentStatus.ACTIVE)
    harness.clock.advance(3600)
    await harness.ledger.pause(record.consent_id)
    before = datetime.fromtimestamp(harness.clock.now() - 60, UTC)
    assert (await harness.ledger.get(record.consent_id, before)).status is ConsentStatus.ACTIVE
    assert (await harness.ledger.get(record.consent_id)).status is ConsentStatus.PAUSED


async def test_replace_activates_new_terms_and_revokes_the_old(harness: Harness) -> None:
    """replace gives a new ACTIVE artefact linked to the old one, which is REVOKED."""
    old = await harness.at_status(ConsentStatus.ACTIVE)
    new = await harness.ledger.replace(old.consent_id, make_terms(dataLife="P7D"))
    stored_old = await harness.ledger.get(old.consent_id)
    assert new.status is ConsentStatus.ACTIVE
    assert new.replaces == old.consent_id
    assert new.artefact.data_life == "P7D"
    assert stored_old.status is ConsentStatus.REVOKED
    assert stored_old.replaced_by == new.consent_id
    assert harness.bits.revoked == {old.status_index}


async def test_replace_refuses_a_change_of_parties(harness: Harness) -> None:
    """A different data consumer is a new consent, not a replacement."""
    old = await harness.at_status(ConsentStatus.ACTIVE)
    with pytest.raises(ConsentError) as info:
        await harness.ledger.replace(old.consent_id, make_terms(dataConsumer="did:web:other"))
    assert info.value.code == "CONSENT_PARTIES_CHANGED"


async def test_replace_refuses_unchanged_terms(harness: Harness) -> None:
    """Replacing with the very same terms is refused."""
    old = await harness.at_status(ConsentStatus.ACTIVE)
    with pytest.raises(ConsentError) as info:
        await harness.ledger.replace(old.consent_id, make_terms())
    assert info.value.code == "CONSENT_TERMS_UNCHANGED"


async def test_replace_refuses_a_consent_that_is_not_live(harness: Harness) -> None:
    """Only ACTIVE or PAUSED consents can be replaced."""
    old = await harness.at_status(ConsentStatus.REQUESTED)
    with pytest.raises(ConsentError) as info:
        await harness.ledger.replace(old.consent_id, make_terms(dataLife="P7D"))
    assert info.value.code == "CONSENT_ILLEGAL_TRANSITION"


async def test_every_transition_is_audited(harness: Harness) -> None:
    """Each stored change appends one audit record naming its event."""
    record = await harness.at_status(ConsentStatus.PAUSED)
    await harness.ledger.resume(record.consent_id)
    events = [r.event for r in await harness.audit.records_for(record.consent_id)]
    assert events == [
        AuditEvent.REQUESTED,
        AuditEvent.APPROVED,
        AuditEvent.ACTIVATED,
        AuditEvent.PAUSED,
        AuditEvent.RESUMED,
    ]

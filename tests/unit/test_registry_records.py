"""Registry record models: validation, stored round trips, lookup renderings, client parsing."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from iesnode.interfaces import Reply
from iesnode.model.subscriber import Role, Subscriber, SubscriberQuery, SubscriberStatus
from iesnode.registry.client import RegistryApi, RegistryClient
from iesnode.registry.records import (
    InstitutionRecord,
    InstitutionRole,
    LicenceStatus,
    ParticipantRecord,
    ParticipantStatus,
    RevocationPurpose,
    RevocationRecord,
    beckn_v1_subscription,
    dedi_participant,
    participant_key_prefix,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SIGNING = base64.b64encode(bytes(range(32))).decode()
ENCRYPTION = base64.b64encode(bytes(range(32, 64))).decode()


def participant(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "namespace": "ies.example",
        "registry": "p2p-trading",
        "subscriber_id": "bpp.example.org",
        "subscriber_url": "https://bpp.example.org/beckn",
        "role": "BPP",
        "domains": ["ies:energy"],
        "city": "std:011",
        "country": "IND",
        "signing_public_key": SIGNING,
        "encryption_public_key": ENCRYPTION,
        "key_id": "k1",
        "valid_from": T0,
        "valid_until": T0 + timedelta(days=365),
        "status": "SUBSCRIBED",
        "created": T0,
        "updated": T0,
    }
    fields.update(changes)
    return fields


def institution(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "namespace": "ies.example",
        "registry": "discoms",
        "org_id": "did:web:ies.discom.example",
        "name": "Example Distribution Company",
        "role": "DISCOM",
        "licence_number": "SERC/DL/2024/07",
        "scope": ["distribution:IN-DL"],
        "valid_from": T0,
        "valid_until": T0 + timedelta(days=3650),
        "issuing_authority": "did:web:ies.serc.example",
    }
    fields.update(changes)
    return fields


def revocation(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "namespace": "ies.example",
        "registry": "vc-revocation-registry",
        "credential_id": "urn:uuid:5f0c6b1e-3a0d-4c55-9b1e-0c9f3d1a2b3c",
        "revoked_at": T0,
        "reason": "meter replaced",
        "issuer": "did:web:ies.discom.example",
    }
    fields.update(changes)
    return fields


def error_of(model: type[Any], fields: dict[str, Any]) -> tuple[str, str]:
    """The (location, message) of the single validation error ``fields`` cause."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(fields)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return ".".join(str(p) for p in errors[0]["loc"]), errors[0]["msg"]


def test_participant_round_trips_through_stored_bytes() -> None:
    """to_data/from_data give back an equal record."""
    record = ParticipantRecord.model_validate(participant())
    assert ParticipantRecord.from_data(record.to_data()) == record


def test_participant_key_and_network_id() -> None:
    """The record key is namespace/registry/subscriber|key; the network id namespace/registry."""
    record = ParticipantRecord.model_validate(participant())
    assert record.record_key() == "ies.example/p2p-trading/bpp.example.org|k1"
    assert record.network_id == "ies.example/p2p-trading"
    assert record.record_key().startswith(
        participant_key_prefix("ies.example", "p2p-trading", "bpp.example.org")
    )
    assert participant_key_prefix("ies.example", "p2p-trading") == "ies.example/p2p-trading/"


def test_participant_times_are_kept_in_utc() -> None:
    """A time given with an offset is stored as the same instant in UTC."""
    ist = timezone(timedelta(hours=5, minutes=30))
    record = ParticipantRecord.model_validate(
        participant(created=datetime(2026, 1, 1, 5, 30, tzinfo=ist))
    )
    assert record.created == T0
    assert record.created.tzinfo is UTC


def test_participant_is_frozen() -> None:
    """Records cannot be changed in place."""
    record = ParticipantRecord.model_validate(participant())
    with pytest.raises(ValidationError):
        record.status = ParticipantStatus.REVOKED  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "loc", "message"),
    [
        ({"valid_until": T0}, "", "valid_until must be after valid_from"),
        ({"updated": T0 - timedelta(seconds=1)}, "", "updated must not be before created"),
        ({"signing_public_key": "not base64!"}, "signing_public_key", "standard base64"),
        (
            {"signing_public_key": base64.b64encode(bytes(64)).decode()},
            "signing_public_key",
            "32 bytes, not 64",
        ),
        (
            {"encryption_public_key": base64.b64encode(bytes(31)).decode()},
            "encryption_public_key",
            "32 bytes, not 31",
        ),
        ({"subscriber_url": "bpp.example.org/beckn"}, "subscriber_url", "scheme must be http"),
        ({"subscriber_url": "ftp://bpp.example.org"}, "subscriber_url", "scheme must be http"),
        ({"subscriber_url": "https:///beckn"}, "subscriber_url", "must name a host"),
        ({"subscriber_url": "https://u:p@bpp.example.org"}, "subscriber_url", "credentials"),
        ({"subscriber_url": "https://bpp.example.org/b?x=1"}, "subscriber_url", "query"),
        ({"subscriber_url": "https://bpp.example.org/b#f"}, "subscriber_url", "fragment"),
        ({"subscriber_url": "https://bpp.example.org:99999"}, "subscriber_url", "malformed"),
        ({"subscriber_url": "https://bpp.example.org/a b"}, "subscriber_url", "whitespace"),
        ({"subscriber_id": "bpp|evil"}, "subscriber_id", "should match pattern"),
        ({"key_id": "k 1"}, "key_id", "should match pattern"),
        ({"namespace": "ies/example"}, "namespace", "should match pattern"),
        ({"registry": ""}, "registry", "should match pattern"),
        ({"domains": [""]}, "domains.0", "should match pattern"),
        ({"role": "PS"}, "role", "Input should be"),
        ({"status": "ACTIVE"}, "status", "Input should be"),
        ({"valid_from": datetime(2026, 1, 1)}, "valid_from", "timezone info"),
        ({"extra": 1}, "extra", "Extra inputs are not permitted"),
    ],
)
def test_participant_validation_errors(changes: dict[str, Any], loc: str, message: str) -> None:
    """Each kind of bad input is refused with its own message, at its own field."""
    where, msg = error_of(ParticipantRecord, participant(**changes))
    assert where == loc
    assert message in msg


def test_status_maps_to_subscriber_status() -> None:
    """Every registry status has a lookup status; SUSPENDED is answered UNSUBSCRIBED."""
    mapped = {status: status.to_subscriber_status() for status in ParticipantStatus}
    assert mapped[ParticipantStatus.SUSPENDED] is SubscriberStatus.UNSUBSCRIBED
    assert all(
        mapped[s].value == s.value
        for s in ParticipantStatus
        if s is not ParticipantStatus.SUSPENDED
    )


def test_to_subscriber_is_the_lookup_answer() -> None:
    """to_subscriber carries the key, address, network and mapped status."""
    record = ParticipantRecord.model_validate(participant(status="SUSPENDED"))
    assert record.to_subscriber() == Subscriber(
        subscriber_id="bpp.example.org",
        key_id="k1",
        url="https://bpp.example.org/beckn",
        role=Role.BPP,
        signing_public_key=SIGNING,
        encryption_public_key=ENCRYPTION,
        status=SubscriberStatus.UNSUBSCRIBED,
        network_id="ies.example/p2p-trading",
        domains=("ies:energy",),
        city="std:011",
        country="IND",
        valid_from=T0,
        valid_until=T0 + timedelta(days=365),
    )


def test_key_past_valid_until_is_expired() -> None:
    """At or after valid_until a subscribed key is EXPIRED; a revoked one stays REVOKED."""
    record = ParticipantRecord.model_validate(participant())
    end = record.valid_until
    assert record.effective_status(end - timedelta(seconds=1)) is ParticipantStatus.SUBSCRIBED
    assert record.to_subscriber(at=end).status is SubscriberStatus.EXPIRED
    revoked = record.model_copy(update={"status": ParticipantStatus.REVOKED})
    assert revoked.effective_status(end) is ParticipantStatus.REVOKED


def test_rotated_key_keeps_the_old_key_valid_until_its_valid_until() -> None:
    """Two key records of one subscriber: both verify in the overlap, only the new one after."""
    old = ParticipantRecord.model_validate(participant(valid_until=T0 + timedelta(days=30)))
    new = ParticipantRecord.model_validate(
        participant(
            key_id="k2",
            valid_from=T0 + timedelta(days=20),
            created=T0 + timedelta(days=20),
            updated=T0 + timedelta(days=20),
        )
    )
    assert old.record_key() != new.record_key()
    overlap, after = T0 + timedelta(days=25), T0 + timedelta(days=30)
    assert old.is_valid_at(overlap)
    assert new.is_valid_at(overlap)
    assert not old.is_valid_at(after)
    assert new.is_valid_at(after)
    assert not new.is_valid_at(T0 + timedelta(days=19))


def test_only_subscribed_keys_are_valid() -> None:
    """A key in its window but not SUBSCRIBED does not verify."""
    at = T0 + timedelta(days=1)
    for status in ParticipantStatus:
        record = ParticipantRecord.model_validate(participant(status=status))
        assert record.is_valid_at(at) is (status is ParticipantStatus.SUBSCRIBED)


def test_beckn_v1_shape() -> None:
    """The v1 rendering has the Subscription field names, one domain as a string, Z times."""
    rendered = beckn_v1_subscription(ParticipantRecord.model_validate(participant()))
    assert rendered == {
        "subscriber_id": "bpp.example.org",
        "subscriber_url": "https://bpp.example.org/beckn",
        "type": "BPP",
        "domain": "ies:energy",
        "city": "std:011",
        "country": "IND",
        "network_id": "ies.example/p2p-trading",
        "unique_key_id": "k1",
        "signing_public_key": SIGNING,
        "encr_public_key": ENCRYPTION,
        "valid_from": "2026-01-01T00:00:00.000Z",
        "valid_until": "2027-01-01T00:00:00.000Z",
        "status": "SUBSCRIBED",
        "created": "2026-01-01T00:00:00.000Z",
        "updated": "2026-01-01T00:00:00.000Z",
    }


def test_beckn_v1_domain_forms() -> None:
    """Several domains render as a list; none leaves the domain out."""
    many = ParticipantRecord.model_validate(participant(domains=["a", "b"]))
    none = ParticipantRecord.model_validate(participant(domains=[]))
    assert beckn_v1_subscription(many)["domain"] == ["a", "b"]
    assert "domain" not in beckn_v1_subscription(none)


def test_dedi_shape() -> None:
    """The DeDi rendering is flat camelCase with a domain list and the network id."""
    record = ParticipantRecord.model_validate(participant(city=None, status="REVOKED"))
    rendered = dedi_participant(record)
    assert rendered == {
        "subscriberId": "bpp.example.org",
        "subscriberUrl": "https://bpp.example.org/beckn",
        "role": "BPP",
        "domain": ["ies:energy"],
        "networkId": "ies.example/p2p-trading",
        "signingPublicKey": SIGNING,
        "encryptionPublicKey": ENCRYPTION,
        "keyId": "k1",
        "validFrom": "2026-01-01T00:00:00.000Z",
        "validUntil": "2027-01-01T00:00:00.000Z",
        "status": "REVOKED",
        "created": "2026-01-01T00:00:00.000Z",
        "updated": "2026-01-01T00:00:00.000Z",
        "country": "IND",
    }


class CannedRegistry:
    """A Transport answering every registry call with one fixed JSON body."""

    def __init__(self, body: object) -> None:
        self.body = json.dumps(body).encode()

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Reply:
        return Reply(200, self.body)

    async def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Reply:
        return Reply(200, self.body)


async def parsed_by_client(
    record: ParticipantRecord, api: RegistryApi
) -> tuple[Subscriber | None, list[Subscriber]]:
    """What RegistryClient makes of the record rendered for ``api`` (lookup, then find)."""
    entry = beckn_v1_subscription(record) if api == "beckn-v1" else dedi_participant(record)
    one = RegistryClient(
        CannedRegistry([entry] if api == "beckn-v1" else entry), "http://r", api=api
    )
    many = RegistryClient(CannedRegistry([entry]), "http://r", api=api)
    return await one.lookup(record.subscriber_id, record.key_id), await many.find(
        SubscriberQuery(status=None)
    )


@pytest.mark.parametrize("api", ["beckn-v1", "dedi"])
async def test_client_reads_each_rendering_back_as_to_subscriber(api: RegistryApi) -> None:
    """RegistryClient (lookup and find) parses both renderings into to_subscriber()."""
    record = ParticipantRecord.model_validate(participant())
    found, listed = await parsed_by_client(record, api)
    assert found == record.to_subscriber()
    assert listed == [record.to_subscriber()]


KEYS = st.binary(min_size=32, max_size=32).map(lambda raw: base64.b64encode(raw).decode())
IDS = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:%@~+-]{0,20}\Z")
TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@st.composite
def records(draw: st.DrawFn) -> ParticipantRecord:
    valid_from = draw(TIMES)
    created = draw(TIMES)
    fields = participant(
        subscriber_id=draw(IDS),
        key_id=draw(IDS),
        role=draw(st.sampled_from(Role)),
        domains=draw(st.lists(st.from_regex(r"\A[a-z0-9:.-]{1,12}\Z"), max_size=3)),
        city=draw(st.none() | st.just("std:080")),
        country=draw(st.none() | st.just("IND")),
        signing_public_key=draw(KEYS),
        encryption_public_key=draw(KEYS),
        valid_from=valid_from,
        valid_until=valid_from
        + draw(st.timedeltas(timedelta(microseconds=1), timedelta(days=999))),
        status=draw(st.sampled_from(ParticipantStatus)),
        created=created,
        updated=created + draw(st.timedeltas(timedelta(0), timedelta(days=99))),
    )
    return ParticipantRecord.model_validate(fields)


@settings(max_examples=60, deadline=None)
@given(record=records())
def test_any_record_round_trips_and_renders_back_alike(record: ParticipantRecord) -> None:
    """For any valid record: stored bytes read back equal; both renderings parse alike."""
    assert ParticipantRecord.from_data(record.to_data()) == record
    expected = record.to_subscriber()
    for api in ("beckn-v1", "dedi"):
        found, listed = asyncio.run(parsed_by_client(record, api))
        assert found == expected
        assert listed == [expected]


def test_institution_round_trip_key_and_validity() -> None:
    """An institution record round trips, keys by org id and is valid only while ACTIVE."""
    record = InstitutionRecord.model_validate(institution())
    assert InstitutionRecord.from_data(record.to_data()) == record
    assert record.record_key() == "ies.example/discoms/did:web:ies.discom.example"
    assert record.role is InstitutionRole.DISCOM
    assert record.status is LicenceStatus.ACTIVE
    assert record.is_valid_at(T0 + timedelta(days=1))
    assert not record.is_valid_at(T0 + timedelta(days=3650))
    suspended = record.model_copy(update={"status": LicenceStatus.SUSPENDED})
    assert not suspended.is_valid_at(T0 + timedelta(days=1))


@pytest.mark.parametrize(
    ("changes", "loc", "message"),
    [
        ({"valid_until": T0 - timedelta(days=1)}, "", "valid_until must be after valid_from"),
        ({"role": "BAP"}, "role", "Input should be"),
        ({"scope": []}, "scope", "at least 1 item"),
        ({"licence_number": ""}, "licence_number", "at least 1 character"),
        ({"name": ""}, "name", "at least 1 character"),
        ({"org_id": "org/1"}, "org_id", "should match pattern"),
        ({"issuing_authority": ""}, "issuing_authority", "should match pattern"),
    ],
)
def test_institution_validation_errors(changes: dict[str, Any], loc: str, message: str) -> None:
    """Each kind of bad institution input is refused at its own field."""
    where, msg = error_of(InstitutionRecord, institution(**changes))
    assert where == loc
    assert message in msg


def test_revocation_round_trip_and_key() -> None:
    """A revocation record round trips and keys by credential id (URLs allowed)."""
    entry = "https://status.example/list/3#94567"
    record = RevocationRecord.model_validate(revocation(credential_id=entry, reason=None))
    assert RevocationRecord.from_data(record.to_data()) == record
    assert record.record_key() == f"ies.example/vc-revocation-registry/{entry}"
    assert record.purpose is RevocationPurpose.REVOCATION


@pytest.mark.parametrize(
    ("changes", "loc", "message"),
    [
        ({"credential_id": "has space"}, "credential_id", "should match pattern"),
        ({"credential_id": ""}, "credential_id", "should match pattern"),
        ({"revoked_at": datetime(2026, 1, 1)}, "revoked_at", "timezone info"),
        ({"reason": "x" * 513}, "reason", "at most 512 characters"),
        ({"purpose": "expiry"}, "purpose", "Input should be"),
    ],
)
def test_revocation_validation_errors(changes: dict[str, Any], loc: str, message: str) -> None:
    """Each kind of bad revocation input is refused at its own field."""
    where, msg = error_of(RevocationRecord, revocation(**changes))
    assert where == loc
    assert message in msg


def test_record_kinds_differ() -> None:
    """Each model stores under its own RecordStore kind."""
    kinds = {ParticipantRecord.KIND, InstitutionRecord.KIND, RevocationRecord.KIND}
    assert kinds == {"participant", "institution", "revocation"}

"""Registry governance: who may write what, with which signature."""

from __future__ import annotations

import pytest

from iesnode.clock import FrozenClock
from iesnode.errors import AuthError, Forbidden
from iesnode.protocol.signing import Signer
from iesnode.registry.governance import ADMIN, AdminKey, Governance, NamespacePolicy, Writer
from iesnode.testing import generate_signing_key

NOW = 1_800_000_000.0
BODY = b'{"subscriber_id":"bpp.example","key_id":"k1"}'


def signer(subscriber_id: str, key_id: str = "k1") -> tuple[Signer, str]:
    """A fresh signer and its public key."""
    private, public = generate_signing_key()
    return Signer.from_base64(subscriber_id, key_id, private), public


ADMIN_SIGNER, ADMIN_PUBLIC = signer(ADMIN, "root-1")
DISCOM, DISCOM_PUBLIC = signer("discom.example")


def governance() -> Governance:
    """Admin root-1; namespace ies.example with publisher discom.example and one registry."""
    return Governance(
        admins=[AdminKey("root-1", ADMIN_PUBLIC)],
        namespaces=[
            NamespacePolicy(
                "ies.example",
                publishers=frozenset({"discom.example"}),
                registries=frozenset({"p2p-trading"}),
            ),
            NamespacePolicy("closed.example", self_subscribe=False),
        ],
        clock=FrozenClock(NOW),
    )


async def known(subscriber_id: str, key_id: str) -> str | None:
    """The registry knows discom.example's key k1."""
    return DISCOM_PUBLIC if (subscriber_id, key_id) == ("discom.example", "k1") else None


async def test_admin_signature_authenticates_an_admin() -> None:
    """A write signed with a configured admin key comes from an admin."""
    writer = await governance().authenticate(BODY, [ADMIN_SIGNER.sign(BODY, int(NOW))], known)
    assert writer == Writer(ADMIN, "root-1", is_admin=True)
    assert writer.actor == "admin:root-1"


async def test_unsigned_write_is_rejected() -> None:
    """No Authorization header: AUT_SIGNATURE_MISSING."""
    with pytest.raises(AuthError) as caught:
        await governance().authenticate(BODY, [], known)
    assert caught.value.code == "AUT_SIGNATURE_MISSING"


async def test_write_signed_over_other_bytes_is_rejected() -> None:
    """A signature for another body does not verify."""
    header = DISCOM.sign(b"{}", int(NOW))
    with pytest.raises(AuthError) as caught:
        await governance().authenticate(BODY, [header], known)
    assert caught.value.code == "AUT_SIGNATURE_INVALID"


async def test_unknown_writer_key_is_rejected() -> None:
    """A key the registry does not hold (and the body does not register) is unknown."""
    stranger, _ = signer("stranger.example")
    with pytest.raises(AuthError) as caught:
        await governance().authenticate(BODY, [stranger.sign(BODY, int(NOW))], known)
    assert caught.value.code == "AUT_KEY_NOT_FOUND"


async def test_self_subscription_proves_possession_of_the_new_key() -> None:
    """A new participant signs with the key it registers; that signature authenticates it."""
    newcomer, public = signer("bpp.example")
    writer = await governance().authenticate(
        BODY,
        [newcomer.sign(BODY, int(NOW))],
        known,
        proposed_key=("bpp.example", "k1", public),
    )
    gov = governance()
    gov.require_self_or_publisher(writer, "ies.example", "p2p-trading", "bpp.example")
    with pytest.raises(Forbidden):
        gov.require_self_or_publisher(writer, "ies.example", "p2p-trading", "other.example")


async def test_publisher_may_not_write_outside_its_namespace() -> None:
    """discom.example publishes in ies.example but not in closed.example."""
    writer = await governance().authenticate(BODY, [DISCOM.sign(BODY, int(NOW))], known)
    gov = governance()
    gov.require_publisher(writer, "ies.example", "p2p-trading")
    with pytest.raises(Forbidden) as caught:
        gov.require_publisher(writer, "closed.example", "any")
    assert caught.value.code == "POL_NOT_A_PUBLISHER"


def test_unknown_namespace_and_registry_are_refused() -> None:
    """Writes name a namespace and registry this registry runs."""
    gov = governance()
    admin = Writer(ADMIN, "root-1", is_admin=True)
    with pytest.raises(Forbidden) as caught:
        gov.require_publisher(admin, "nowhere.example", "x")
    assert caught.value.code == "POL_UNKNOWN_NAMESPACE"
    with pytest.raises(Forbidden) as caught:
        gov.require_publisher(admin, "ies.example", "ev-charging")
    assert caught.value.code == "POL_UNKNOWN_REGISTRY"


def test_closed_namespace_refuses_self_subscription() -> None:
    """Where self_subscribe is off only publishers register keys."""
    writer = Writer("bpp.example", "k1", is_admin=False)
    with pytest.raises(Forbidden):
        governance().require_self_or_publisher(writer, "closed.example", "r", "bpp.example")

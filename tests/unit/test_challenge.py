"""Registry on_subscribe challenge: the X25519/AES-256-ECB vector, key encodings, both sides."""

from __future__ import annotations

import base64
import json
import string
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import assume, given
from hypothesis import strategies as st
from nacl.bindings import crypto_scalarmult
from nacl.public import PrivateKey

from iesnode.protocol.challenge import (
    ChallengeError,
    answer_challenge,
    check_answer,
    decrypt_challenge,
    encrypt_challenge,
    generate_encryption_keypair,
    issue_challenge,
    load_x25519_private_key,
    load_x25519_public_key,
    new_challenge,
    shared_secret,
)

VECTOR: dict[str, Any] = json.loads(
    Path("/work/shared/vectors/subscribe-challenge/x25519-aes256ecb.json").read_text()
)
PRIVATE_1: str = VECTOR["party_1_private_key_pkcs8_der_base64"]
PUBLIC_1: str = VECTOR["party_1_public_key_spki_der_base64"]
PRIVATE_2: str = VECTOR["party_2_private_key_pkcs8_der_base64"]
PUBLIC_2: str = VECTOR["party_2_public_key_spki_der_base64"]
SECRET = base64.b64decode(VECTOR["expected_shared_secret_base64"])
PLAINTEXT: str = VECTOR["plaintext"]
CIPHERTEXT: str = VECTOR["expected_ciphertext_aes256_ecb_pkcs7_base64"]
PKCS8_V1_WITH_PUBLIC = bytes.fromhex("3051020101300506032b656e04220420")
_DER = serialization.Encoding.DER


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _last32(b64: str) -> str:
    return _b64(base64.b64decode(b64)[-32:])


def _raw_ecb(block_aligned: bytes, key: bytes = SECRET) -> str:
    """AES-256-ECB with no padding step, to forge malformed challenges."""
    encryptor = Cipher(algorithms.AES256(key), modes.ECB()).encryptor()
    return _b64(encryptor.update(block_aligned) + encryptor.finalize())


def _decrypt_or_reason(ciphertext: str, key: bytes) -> tuple[str | None, str | None]:
    """The plaintext, or the ChallengeError reason when decryption fails."""
    try:
        return decrypt_challenge(ciphertext, key), None
    except ChallengeError as exc:
        return None, exc.reason


def _nacl_pair() -> tuple[str, str]:
    key = PrivateKey.generate()
    return _b64(bytes(key)), _b64(bytes(key.public_key))


def test_vector_shared_secret_party_1() -> None:
    """Party 1's private key with party 2's public key gives the vector's shared secret."""
    assert shared_secret(PRIVATE_1, PUBLIC_2) == SECRET


def test_vector_shared_secret_party_2() -> None:
    """Party 2's private key with party 1's public key gives the same shared secret."""
    assert shared_secret(PRIVATE_2, PUBLIC_1) == SECRET


def test_vector_ciphertext_byte_for_byte() -> None:
    """AES-256-ECB/PKCS7 of the vector plaintext equals the vector ciphertext."""
    assert encrypt_challenge(PLAINTEXT, SECRET) == CIPHERTEXT


def test_vector_ciphertext_decrypts_back() -> None:
    """The vector ciphertext decrypts to the vector plaintext."""
    assert decrypt_challenge(CIPHERTEXT, SECRET) == PLAINTEXT


def test_vector_answered_by_subscriber() -> None:
    """The subscriber side answers the vector challenge with its own and the registry's keys."""
    answer = answer_challenge(
        CIPHERTEXT, own_encryption_private_key=PRIVATE_2, registry_encryption_public_key=PUBLIC_1
    )
    assert answer == PLAINTEXT


def test_version_1_pkcs8_private_key_is_its_last_32_bytes() -> None:
    """The vector's version=1 PKCS#8 private key loads as its last 32 bytes."""
    assert load_x25519_private_key(PRIVATE_1) == base64.b64decode(PRIVATE_1)[-32:]


def test_spki_public_key_is_its_last_32_bytes() -> None:
    """An SPKI DER public key loads as its last 32 bytes."""
    assert load_x25519_public_key(PUBLIC_1) == base64.b64decode(PUBLIC_1)[-32:]


def test_raw_keys_give_the_vector_secret() -> None:
    """Raw 32-byte base64 keys give the same shared secret as their DER forms."""
    assert shared_secret(_last32(PRIVATE_1), _last32(PUBLIC_2)) == SECRET


def test_mixed_raw_and_der_keys_give_the_vector_secret() -> None:
    """A DER private key with a raw public key (and vice versa) still agrees."""
    assert shared_secret(PRIVATE_2, _last32(PUBLIC_1)) == SECRET
    assert shared_secret(_last32(PRIVATE_2), PUBLIC_1) == SECRET


def test_der_public_key_matches_private_key() -> None:
    """The vector's public key is X25519 of its private key (the pairs are consistent)."""
    raw_private = load_x25519_private_key(PRIVATE_1)
    assert bytes(PrivateKey(raw_private).public_key) == load_x25519_public_key(PUBLIC_1)


def test_version_0_pkcs8_from_cryptography_loads() -> None:
    """A standard version-0 PKCS#8 X25519 key, as cryptography writes it, loads."""
    key = X25519PrivateKey.generate()
    der = key.private_bytes(_DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert load_x25519_private_key(_b64(der)) == key.private_bytes_raw()


def test_spki_from_cryptography_loads() -> None:
    """An SPKI X25519 public key, as cryptography writes it, loads."""
    public = X25519PrivateKey.generate().public_key()
    der = public.public_bytes(_DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert load_x25519_public_key(_b64(der)) == public.public_bytes_raw()


def test_pkcs8_with_embedded_public_key_loads() -> None:
    """A version-1 PKCS#8 key carrying its matching public key loads."""
    key = PrivateKey.generate()
    der = PKCS8_V1_WITH_PUBLIC + bytes(key) + bytes.fromhex("812100") + bytes(key.public_key)
    assert load_x25519_private_key(_b64(der)) == bytes(key)


def test_pkcs8_with_mismatched_embedded_public_key_is_rejected() -> None:
    """A PKCS#8 key whose embedded public key is another key's is rejected."""
    key, other = PrivateKey.generate(), PrivateKey.generate()
    der = PKCS8_V1_WITH_PUBLIC + bytes(key) + bytes.fromhex("812100") + bytes(other.public_key)
    with pytest.raises(ValueError, match="embedded public key does not match"):
        load_x25519_private_key(_b64(der))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not base64!", "not valid base64"),
        ("AAA", "not valid base64"),
        ("é", "not valid base64"),
        (_b64(bytes(31)), "got 31 bytes"),
        (_b64(bytes(64)), "got 64 bytes"),
        (_b64(base64.b64decode(PRIVATE_1)[:-1]), "got 47 bytes"),
        (_b64(base64.b64decode(PRIVATE_1) + b"\x00"), "got 49 bytes"),
    ],
)
def test_malformed_private_key_is_rejected(value: str, reason: str) -> None:
    """Bad base64, wrong lengths and truncated or extended DER private keys are named."""
    with pytest.raises(ValueError, match=reason):
        load_x25519_private_key(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not base64!", "not valid base64"),
        (_b64(bytes(33)), "got 33 bytes"),
        (_b64(base64.b64decode(PUBLIC_1)[:-1]), "got 43 bytes"),
        (PRIVATE_1, "got 48 bytes"),
    ],
)
def test_malformed_public_key_is_rejected(value: str, reason: str) -> None:
    """Bad base64, wrong lengths, truncated SPKI and a private key given as public are named."""
    with pytest.raises(ValueError, match=reason):
        load_x25519_public_key(value)


def test_ed25519_der_private_key_is_named() -> None:
    """An Ed25519 PKCS#8 key offered as an encryption key is rejected as Ed25519."""
    der = Ed25519PrivateKey.generate().private_bytes(
        _DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="is an Ed25519 key, not X25519"):
        load_x25519_private_key(_b64(der))


def test_ed25519_spki_public_key_is_named() -> None:
    """An Ed25519 SPKI key offered as an encryption key is rejected as Ed25519."""
    der = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(_DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="is an Ed25519 key, not X25519"):
        load_x25519_public_key(_b64(der))


@pytest.mark.parametrize("point", [bytes(32), (1).to_bytes(32, "little")])
def test_low_order_public_key_is_rejected(point: bytes) -> None:
    """A low-order public point, which makes the shared secret all zero, is rejected."""
    with pytest.raises(ValueError, match="low-order point"):
        shared_secret(PRIVATE_1, _b64(point))


@given(st.binary(max_size=100))
def test_public_key_loader_only_raises_value_error(raw: bytes) -> None:
    """Any bytes either load as a 32-byte public key or raise ValueError."""
    try:
        loaded = load_x25519_public_key(_b64(raw))
    except ValueError:
        return
    assert len(loaded) == 32


@given(st.binary(max_size=100))
def test_private_key_loader_only_raises_value_error(raw: bytes) -> None:
    """Any bytes either load as a 32-byte private key or raise ValueError."""
    try:
        loaded = load_x25519_private_key(_b64(raw))
    except ValueError:
        return
    assert len(loaded) == 32


def test_nacl_keys_agree_with_libsodium() -> None:
    """Keys from nacl.public.PrivateKey give libsodium's own scalar multiplication."""
    ours, theirs = PrivateKey.generate(), PrivateKey.generate()
    expected = crypto_scalarmult(bytes(ours), bytes(theirs.public_key))
    assert shared_secret(_b64(bytes(ours)), _b64(bytes(theirs.public_key))) == expected


def test_nacl_keys_answer_an_issued_challenge() -> None:
    """A registry and a subscriber holding pynacl-generated keys complete the challenge."""
    registry_private, registry_public = _nacl_pair()
    subscriber_private, subscriber_public = _nacl_pair()
    plaintext, ciphertext = issue_challenge(
        registry_encryption_private_key=registry_private,
        subscriber_encryption_public_key=subscriber_public,
    )
    answer = answer_challenge(
        ciphertext,
        own_encryption_private_key=subscriber_private,
        registry_encryption_public_key=registry_public,
    )
    assert check_answer(plaintext, answer)


def test_generated_keypair_is_consistent_with_nacl() -> None:
    """generate_encryption_keypair returns raw 32-byte keys whose public half nacl agrees on."""
    private, public = generate_encryption_keypair()
    raw_private = base64.b64decode(private)
    assert len(raw_private) == 32
    assert bytes(PrivateKey(raw_private).public_key) == base64.b64decode(public)


def test_generated_keypairs_complete_the_challenge() -> None:
    """Fresh key pairs on both sides complete issue, answer and check."""
    registry_private, registry_public = generate_encryption_keypair()
    subscriber_private, subscriber_public = generate_encryption_keypair()
    plaintext, ciphertext = issue_challenge(
        registry_encryption_private_key=registry_private,
        subscriber_encryption_public_key=subscriber_public,
    )
    assert ciphertext != plaintext
    answer = answer_challenge(
        ciphertext,
        own_encryption_private_key=subscriber_private,
        registry_encryption_public_key=registry_public,
    )
    assert answer == plaintext


@given(st.text(), st.binary(min_size=32, max_size=32))
def test_encrypt_decrypt_round_trip(plaintext: str, key: bytes) -> None:
    """Any text survives encryption and decryption under any 32-byte key."""
    assert decrypt_challenge(encrypt_challenge(plaintext, key), key) == plaintext


@given(st.text())
def test_round_trip_between_fresh_key_pairs(plaintext: str) -> None:
    """Text encrypted under one side's shared secret decrypts under the other's."""
    one, two = PrivateKey.generate(), PrivateKey.generate()
    sending = shared_secret(_b64(bytes(one)), _b64(bytes(two.public_key)))
    receiving = shared_secret(_b64(bytes(two)), _b64(bytes(one.public_key)))
    assert decrypt_challenge(encrypt_challenge(plaintext, sending), receiving) == plaintext


@pytest.mark.parametrize("value", ["not base64!", "VEbQhlRRruSYHfMQ=x", "AAA", "é"])
def test_challenge_bad_base64(value: str) -> None:
    """A challenge that is not strict base64 fails with reason 'base64'."""
    with pytest.raises(ChallengeError, match="not valid base64") as caught:
        decrypt_challenge(value, SECRET)
    assert caught.value.reason == "base64"


@pytest.mark.parametrize("size", [0, 1, 15, 17, 31])
def test_challenge_wrong_length(size: int) -> None:
    """A ciphertext that is empty or not whole AES blocks fails with reason 'length'."""
    with pytest.raises(ChallengeError, match=f"got {size}") as caught:
        decrypt_challenge(_b64(bytes(size)), SECRET)
    assert caught.value.reason == "length"


def test_challenge_bad_padding() -> None:
    """A ciphertext whose last block does not end in PKCS#7 padding fails with 'padding'."""
    with pytest.raises(ChallengeError, match="padding") as caught:
        decrypt_challenge(_raw_ecb(b"sixteen bytes!!\x00"), SECRET)
    assert caught.value.reason == "padding"


def test_challenge_not_utf8() -> None:
    """A well-padded plaintext that is not UTF-8 fails with reason 'utf8'."""
    with pytest.raises(ChallengeError, match="not UTF-8") as caught:
        decrypt_challenge(_raw_ecb(b"\xff\xfe" + bytes([14]) * 14), SECRET)
    assert caught.value.reason == "utf8"


def test_challenge_error_is_a_value_error() -> None:
    """ChallengeError is a ValueError, so callers may catch either."""
    assert issubclass(ChallengeError, ValueError)


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_aes_key_of_wrong_size_is_rejected(size: int) -> None:
    """Encryption and decryption refuse an AES key that is not 32 bytes."""
    with pytest.raises(ValueError, match=f"32 bytes, got {size}"):
        encrypt_challenge("x", bytes(size))
    with pytest.raises(ValueError, match=f"32 bytes, got {size}"):
        decrypt_challenge(CIPHERTEXT, bytes(size))


def test_wrong_key_does_not_recover_vector_plaintext() -> None:
    """The vector ciphertext under a wrong shared secret fails or yields a different text."""
    wrong = shared_secret(PRIVATE_1, PUBLIC_1)
    recovered, reason = _decrypt_or_reason(CIPHERTEXT, wrong)
    assert reason in {None, "padding", "utf8"}
    assert recovered is None or not check_answer(PLAINTEXT, recovered)


@given(st.binary(min_size=32, max_size=32))
def test_wrong_key_never_recovers_challenge(wrong: bytes) -> None:
    """Any other key fails to decrypt an issued challenge or yields a non-matching answer."""
    assume(wrong != SECRET)
    plaintext = new_challenge()
    ciphertext = encrypt_challenge(plaintext, SECRET)
    recovered, reason = _decrypt_or_reason(ciphertext, wrong)
    assert reason in {None, "padding", "utf8"}
    assert recovered is None or not check_answer(plaintext, recovered)


def test_wrong_subscriber_key_cannot_answer() -> None:
    """A subscriber without the registered private key does not produce the right answer."""
    registry_private, registry_public = generate_encryption_keypair()
    _, subscriber_public = generate_encryption_keypair()
    impostor_private, _ = generate_encryption_keypair()
    plaintext, ciphertext = issue_challenge(
        registry_encryption_private_key=registry_private,
        subscriber_encryption_public_key=subscriber_public,
    )
    try:
        answer = answer_challenge(
            ciphertext,
            own_encryption_private_key=impostor_private,
            registry_encryption_public_key=registry_public,
        )
    except ChallengeError:
        return
    assert not check_answer(plaintext, answer)


def test_new_challenge_is_url_safe_and_long() -> None:
    """A new challenge uses URL-safe characters and carries at least 128 bits."""
    challenge = new_challenge()
    assert set(challenge) <= set(string.ascii_letters + string.digits + "-_")
    assert len(challenge) * 6 >= 128


def test_new_challenges_differ() -> None:
    """Consecutive challenges are distinct."""
    assert len({new_challenge() for _ in range(100)}) == 100


def test_issued_challenges_differ_for_the_same_keys() -> None:
    """Two challenges issued to the same subscriber differ in plaintext and ciphertext."""
    registry_private, _ = generate_encryption_keypair()
    _, subscriber_public = generate_encryption_keypair()
    keys = {
        "registry_encryption_private_key": registry_private,
        "subscriber_encryption_public_key": subscriber_public,
    }
    first, second = issue_challenge(**keys), issue_challenge(**keys)
    assert first[0] != second[0]
    assert first[1] != second[1]


def test_check_answer_accepts_the_plaintext() -> None:
    """The exact plaintext is accepted."""
    assert check_answer(PLAINTEXT, PLAINTEXT)


@pytest.mark.parametrize(
    "answer", ["", PLAINTEXT + " ", PLAINTEXT.lower(), PLAINTEXT[:-1], "\ud800"]
)
def test_check_answer_rejects_other_text(answer: str) -> None:
    """Any other string, including a lone surrogate, is rejected."""
    assert not check_answer(PLAINTEXT, answer)


@pytest.mark.parametrize(
    "answer", [None, 0, PLAINTEXT.encode(), [PLAINTEXT], {"answer": PLAINTEXT}]
)
def test_check_answer_rejects_non_strings(answer: object) -> None:
    """A JSON answer that is not a string is rejected rather than raising."""
    assert not check_answer(PLAINTEXT, answer)

"""docs/FORMAT.md's formulas, re-implemented here from the text, reproduce the pinned vectors,
and so does the library: a change to either the spec or the code breaks these tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from lkvault.vault.format import codec
from lkvault.vault.format.crypto import (
    BlobType,
    KdfParams,
    Keys,
    ObjectType,
    derive_kek,
    padme,
    seal,
    unseal,
    unwrap_secret,
)
from lkvault.vault.ingest.rows import RecordScanner, RowPlan, encode_order

V = json.loads((Path(__file__).parent / "vectors" / "format.json").read_text())
MASTER = bytes.fromhex(V["master"])
VAULT_ID = bytes.fromhex(V["vault_id"])


def rfc5869(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


@pytest.mark.parametrize("label", sorted(V["subkeys"]))
def test_subkeys_follow_the_spec(label: str) -> None:
    size = len(bytes.fromhex(V["subkeys"][label]))
    spec = rfc5869(MASTER, VAULT_ID, b"lkvault v1 " + label.encode(), size)
    assert spec.hex() == V["subkeys"][label]
    keys = Keys.derive(MASTER, VAULT_ID)
    attr = {
        "id data": "data_id",
        "id tree": "tree_id",
        "id object": "object_id",
        "encryption": "encryption",
        "chunker": "chunker",
        "member": "member",
        "config": "config",
    }[label]
    assert getattr(keys, attr).hex() == V["subkeys"][label]


def test_blob_ids_are_hmacs_under_per_type_keys() -> None:
    keys = Keys.derive(MASTER, VAULT_ID)
    data_key = bytes.fromhex(V["subkeys"]["id data"])
    assert hmac.digest(data_key, b"hello", "sha256").hex() == V["blob_ids"]["data:hello"]
    assert keys.blob_id(BlobType.DATA, b"hello").hex() == V["blob_ids"]["data:hello"]
    assert keys.blob_id(BlobType.TREE, b"hello").hex() == V["blob_ids"]["tree:hello"]
    assert V["blob_ids"]["data:hello"] != V["blob_ids"]["tree:hello"]


def test_sealed_object_follows_the_spec() -> None:
    o = V["object"]
    plaintext = bytes.fromhex(o["plaintext"])
    object_type = o["type"]
    id_key = bytes.fromhex(V["subkeys"]["id object"])
    object_id = hmac.digest(id_key, bytes([object_type]) + plaintext, "sha256")
    assert object_id.hex() == o["id"]
    aad = b"lkvault" + bytes([1, object_type]) + VAULT_ID + object_id
    assert aad.hex() == o["aad"]
    enc_key = bytes.fromhex(V["subkeys"]["encryption"])
    key = hmac.digest(enc_key, bytes([object_type]) + object_id, "sha256")
    nonce = bytes.fromhex(o["nonce"])
    sealed = nonce + AESGCM(key).encrypt(nonce, plaintext, aad)
    assert sealed.hex() == o["sealed"]
    keys = Keys.derive(MASTER, VAULT_ID)
    assert seal(keys, ObjectType(object_type), object_id, plaintext, lambda n: nonce) == sealed
    assert unseal(keys, ObjectType(object_type), object_id, sealed) == plaintext


def test_row_order_follows_the_spec() -> None:
    r = V["row_order"]
    order, stored = bytes.fromhex(r["order"]), bytes.fromhex(r["canonical"])
    entries = list(struct.iter_unpack("<II", order))
    starts, position = {}, 0
    for number, (_, length) in sorted(enumerate(entries), key=lambda e: e[1][0]):  # stable
        starts[number] = position
        position += length
    spec = b"".join(stored[starts[n] : starts[n] + length] for n, (_, length) in enumerate(entries))
    assert spec.hex() == r["original"]
    plan = RowPlan.from_order(order, len(stored))
    assert b"".join(stored[o : o + n] for o, n in plan.restore_ranges()).hex() == r["original"]
    scanner = RecordScanner()  # lkvault's writer still groups and tags as it did
    scanner.feed(bytes.fromhex(r["original"]))
    assert encode_order(*scanner.finish()) == order


def test_plaintext_container_layout() -> None:
    plaintext = bytes.fromhex(V["object"]["plaintext"])
    codec_byte, length = struct.unpack_from("<BI", plaintext)
    assert codec_byte == 0 and plaintext[5 : 5 + length] == b"a snapshot body"
    assert set(plaintext[5 + length :]) == {0}


def test_keyslot_wrapping_follows_the_spec() -> None:
    k = V["keyslot"]
    salt = bytes.fromhex(k["salt"])
    kek = Argon2id(
        salt=salt,
        length=32,
        iterations=k["iterations"],
        lanes=k["lanes"],
        memory_cost=k["memory_kib"],
    ).derive(k["passphrase"].encode())
    assert kek.hex() == k["kek"]
    slot_id = bytes.fromhex(k["slot_id"])
    aad = (
        b"lkvault keyslot"
        + bytes([1])
        + VAULT_ID
        + slot_id
        + struct.pack("<IIIB", k["iterations"], k["lanes"], k["memory_kib"], len(salt))
        + salt
    )
    nonce = bytes.fromhex(k["nonce"])
    assert AESGCM(kek).encrypt(nonce, MASTER, aad).hex() == k["wrapped"]
    params = KdfParams(salt, k["iterations"], k["lanes"], k["memory_kib"])
    assert derive_kek(k["passphrase"].encode(), params).hex() == k["kek"]
    unwrapped = unwrap_secret(kek, nonce, bytes.fromhex(k["wrapped"]), VAULT_ID, slot_id, params)
    assert unwrapped == MASTER


def spec_padme(length: int) -> int:
    if length < 2:
        return length
    e = length.bit_length() - 1
    s = e.bit_length()
    step = 1 << (e - s)
    return -(-length // step) * step


@pytest.mark.parametrize(("length", "padded"), V["padme"])
def test_padme(length: int, padded: int) -> None:
    assert padme(length) == padded == spec_padme(length)
    assert padded >= length and padded <= length * 1.125 + 1


def test_documents_round_trip_and_refuse_trailing_garbage() -> None:
    document = {"v": 1, "x": b"\x00\xff", "name": "Zoë"}
    encoded = codec.encode_document(document, padding=7)
    assert codec.decode_document(encoded, "doc") == document
    with pytest.raises(codec.IntegrityError):
        codec.decode_document(encoded[:-1] + b"\x01", "doc")


RESTARTS = json.loads((Path(__file__).parent / "vectors" / "restarts.json").read_text())


def _restart_content() -> bytes:
    """The content RESTARTS["content"] describes, written from that text."""
    return b"".join(
        f"{i},{i * 7919 % 10007},message {i % 97} to {i % 13}\n".encode() for i in range(20_000)
    )


@pytest.mark.parametrize("vector", RESTARTS["vectors"], ids=lambda v: str(v["params"]))
def test_restart_points_rebuild_the_pinned_stream(vector: dict) -> None:
    import zlib

    from lkvault.vault.format import restarts
    from lkvault.vault.format.tree import Restart

    if not restarts.AVAILABLE:
        pytest.skip("lkvault's deflate extension is not built")
    content = _restart_content()
    assert hashlib.sha256(content).hexdigest() == RESTARTS["content_sha256"]
    level, mem_level, strategy, wbits = vector["params"]
    points = [Restart(c, b) for c, b in vector["restarts"]]
    joiner = restarts.BitJoiner()
    out = []
    for job in restarts.segment_jobs([content], len(content), points, wbits):
        result = restarts.deflate_segment(job, level, mem_level, strategy, wbits)
        assert result is not None
        if job.bit_stop is not None:
            assert result[1] == job.bit_stop - job.bit_start
        out.append(joiner.add(*result))
    stream = b"".join(out) + joiner.finish()
    assert len(stream) == vector["csize"]
    assert hashlib.sha256(stream).hexdigest() == vector["sha256"]
    assert zlib.decompress(stream, wbits) == content

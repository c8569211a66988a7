"""Writes tests/vectors/format.json from fixed inputs; run only when the format version changes."""

from __future__ import annotations

import json
from pathlib import Path

from lkvault.vault.format import codec, zstdframe
from lkvault.vault.format.crypto import (
    BlobType,
    KdfParams,
    Keys,
    ObjectType,
    derive_kek,
    object_aad,
    padme,
    seal,
    wrap_secret,
)
from lkvault.vault.ingest.rows import RecordScanner, RowPlan, encode_order

MASTER = bytes(range(32))
VAULT_ID = bytes.fromhex("00112233445566778899aabbccddeeff")
NONCE = bytes.fromhex("0f0e0d0c0b0a090807060504")


def main() -> None:
    keys = Keys.derive(MASTER, VAULT_ID)
    plaintext = codec.contain(b"a snapshot body", codec.CODEC_RAW, 3)
    object_id = keys.object_id_of(ObjectType.SNAPSHOT, plaintext)
    params = KdfParams(salt=bytes(range(100, 132)), iterations=3, lanes=4, memory_kib=65536)
    slot_id = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
    kek = derive_kek(b"correct horse battery staple", params)
    _, wrapped = wrap_secret(kek, MASTER, VAULT_ID, slot_id, params, lambda n: NONCE)
    dictionary_blobs = [b"First Name,Last Name,Company\nAda,Lovelace,Analytical Engines\n"]
    frame_content = b"First Name,Last Name,Company\nAda,Lovelace,Difference Engines\n"
    frame_body = zstdframe.compress([frame_content], 19, len(frame_content), dictionary_blobs[0])
    original = (
        b"CONVERSATION ID,FROM,DATE,CONTENT\n"
        b"2-b,Grace,2026-02-01 09:00:00 UTC,Tomorrow?\n"
        b'2-b,Ada,2025-11-30 17:45:10 UTC,"Hello, Grace"\n'
        b'2-a,Ada,2026-01-20 08:30:00 UTC,"Two\nlines"\n'
        b"2-a,Alan,2025-06-19 12:00:00 UTC,Hi\n"
    )
    scanner = RecordScanner()
    scanner.feed(original)
    order = encode_order(*scanner.finish())
    plan = RowPlan.from_order(order, len(original))
    canonical = b"".join(original[o : o + n] for o, n in plan.store_ranges())
    vectors = {
        "master": MASTER.hex(),
        "vault_id": VAULT_ID.hex(),
        "subkeys": {
            "id data": keys.data_id.hex(),
            "id tree": keys.tree_id.hex(),
            "id object": keys.object_id.hex(),
            "encryption": keys.encryption.hex(),
            "chunker": keys.chunker.hex(),
            "member": keys.member.hex(),
            "config": keys.config.hex(),
        },
        "dictionary_frame": {
            "dictionary_blobs": [b.hex() for b in dictionary_blobs],
            "content": frame_content.hex(),
            "plaintext": codec.contain(frame_body, codec.CODEC_ZSTD_DICT).hex(),
        },
        "row_order": {
            "original": original.hex(),
            "order": order.hex(),
            "canonical": canonical.hex(),
        },
        "blob_ids": {
            "data:hello": keys.blob_id(BlobType.DATA, b"hello").hex(),
            "tree:hello": keys.blob_id(BlobType.TREE, b"hello").hex(),
        },
        "object": {
            "type": int(ObjectType.SNAPSHOT),
            "plaintext": plaintext.hex(),
            "id": object_id.hex(),
            "aad": object_aad(VAULT_ID, ObjectType.SNAPSHOT, object_id).hex(),
            "nonce": NONCE.hex(),
            "sealed": seal(keys, ObjectType.SNAPSHOT, object_id, plaintext, lambda n: NONCE).hex(),
        },
        "keyslot": {
            "passphrase": "correct horse battery staple",
            "salt": params.salt.hex(),
            "iterations": 3,
            "lanes": 4,
            "memory_kib": 65536,
            "slot_id": slot_id.hex(),
            "kek": kek.hex(),
            "nonce": NONCE.hex(),
            "wrapped": wrapped.hex(),
        },
        "padme": [
            [n, padme(n)] for n in (0, 1, 2, 9, 100, 1000, 4097, 65537, 10**6, 16 * 2**20 + 1)
        ],
    }
    out = Path(__file__).with_name("format.json")
    out.write_text(json.dumps(vectors, indent=2) + "\n")


if __name__ == "__main__":
    main()

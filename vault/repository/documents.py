"""Sealed documents (snapshots, forget records): padded, encrypted, named by their id."""

from __future__ import annotations

from typing import Any

from lkvault.vault.backend import Backend
from lkvault.vault.format import codec
from lkvault.vault.format.crypto import Keys, ObjectType, Rng, padded, seal, unseal
from lkvault.vault.repository.index import id_of_name
from lkvault.vault.repository.stored import read_stored


class DocumentStore:
    """Stores and reads the sealed documents under a prefix (``snapshots/``, ``forget/``)."""

    def __init__(self, backend: Backend, keys: Keys, rng: Rng) -> None:
        self.backend = backend
        self.keys = keys
        self.rng = rng

    def write(self, prefix: str, object_type: ObjectType, document: Any) -> bytes:
        """Seal a padded document and store it under ``prefix/<object id>``; returns the id."""
        plaintext = padded(codec.encode_document(document))
        object_id = self.keys.object_id_of(object_type, plaintext)
        self.backend.write(
            prefix + object_id.hex(), seal(self.keys, object_type, object_id, plaintext, self.rng)
        )
        return object_id

    def read(self, prefix: str, object_type: ObjectType, name: str) -> Any:
        """The document stored as ``name``, authenticated and of a version this tool reads."""
        what = f"{object_type.name.lower()} {name}"
        object_id = id_of_name(name, prefix, what)
        plaintext = unseal(self.keys, object_type, object_id, read_stored(self.backend, name, what))
        document = codec.decode_document(plaintext, what)
        codec.check_version(document, what)
        return document

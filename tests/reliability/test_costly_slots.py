"""Costly key slots: a slot planted with an expensive Argon2id must not slow every command.

Someone who can write the vault's folder plants ``keys/000...0`` asking for a costly
derivation. Over the maximum work it is refused without being derived; within it, every
command still opens the vault through the slot this computer opened last (or the cheapest),
never deriving the planted one, and ``verify`` names it as far costlier than the others.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import Lk
from lkvault.vault.format.crypto import KdfParams
from lkvault.vault.repository.keyslots import KeySlot, trial_order

from .budget import record
from .test_tamper import recompute_check

PLANTED = "0" * 32


@pytest.fixture
def lk(tmp_path: Path) -> Lk:
    vault = Lk(tmp_path / "vault", tmp_path / "state")
    vault.init()
    return vault


def plant_slot(lk: Lk, memory_kib: int, iterations: int, name: str = PLANTED) -> Path:
    """A slot beside the real one, sorted before it, asking for this much work."""
    real = next(p for p in (lk.vault / "keys").iterdir() if not p.name.startswith("0" * 8))
    document: dict[str, Any] = json.loads(real.read_bytes())
    document["kdf"]["memory_kib"] = memory_kib
    document["kdf"]["iterations"] = iterations
    document["kdf"]["salt"] = base64.b64encode(os.urandom(32)).decode()
    recompute_check(document)
    planted = real.with_name(name)
    planted.write_text(json.dumps(document, indent=2) + "\n")
    return planted


def slot_of(slot_id: bytes, memory_kib: int, iterations: int) -> KeySlot:
    kdf = KdfParams(salt=b"s" * 16, iterations=iterations, memory_kib=memory_kib)
    return KeySlot(slot_id, b"v" * 16, kdf, b"n" * 12, b"w" * 48)


def test_slots_are_tried_last_opened_first_then_cheapest_first() -> None:
    planted = slot_of(bytes(16), 256 * 1024, 16)
    mine, other = slot_of(b"\x09" * 16, 65536, 3), slot_of(b"\x05" * 16, 65536, 3)
    stronger = slot_of(b"\x01" * 16, 65536, 6)
    slots = [planted, mine, other, stronger]
    assert [s.slot_id for s in trial_order(slots, None)] == [
        other.slot_id,
        mine.slot_id,
        stronger.slot_id,
        planted.slot_id,
    ]
    assert trial_order(slots, mine.slot_id)[0] is mine
    assert trial_order(slots, planted.slot_id)[0] is planted  # only if it opened last time


def test_the_issues_planted_slot_is_over_the_maximum_and_never_derived(lk: Lk) -> None:
    plant_slot(lk, 1024 * 1024, 8)  # 1 GiB and 8 passes: inside the old maximum
    code, out, err = lk.run("list", "--json")
    assert code == 0 and json.loads(out) == [], err
    code, out, _ = lk.run("verify", "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"], "verify called a vault with a planted slot intact"
    (problem,) = report["problems"]
    assert problem["object"] == f"keys/{PLANTED}" and "allowed up to" in problem["message"]
    record("costly-key-slots", planted=1, reported=1)


def test_a_costly_slot_within_the_maximum_is_reported_and_never_derived(lk: Lk) -> None:
    # 256 MiB and 16 passes: 21 times the default's work, the most still allowed.
    plant_slot(lk, 256 * 1024, 16)
    code, _, err = lk.run("list")
    assert code == 0, err
    (state,) = lk.state_dir.glob("*/slot.json")
    real = next(p.name for p in (lk.vault / "keys").iterdir() if p.name != PLANTED)
    assert json.loads(state.read_text()) == {"slot": real}, "the opened slot was not remembered"
    code, out, _ = lk.run("verify", "--json")
    report = json.loads(out)
    assert code == 1, "verify did not report a slot far costlier than the others"
    (problem,) = report["problems"]
    assert problem["object"] == f"keys/{PLANTED}", problem
    assert "21 times the cheapest slot's" in problem["message"], problem
    assert f"lkvault key remove {PLANTED}" in problem["message"]
    code, out, err = lk.run("key", "remove", PLANTED)
    assert code == 0, err
    code, _, _ = lk.run("verify")
    assert code == 0
    record("costly-key-slots", planted=1, reported=1)


def test_two_planted_slots_with_one_prefix_are_each_named_by_a_command_that_removes_it(
    lk: Lk,
) -> None:
    # Slot ids are file names: whoever plants slots chooses them, here with one 8-digit prefix.
    over = plant_slot(lk, 1024 * 1024, 8)
    costly = plant_slot(lk, 256 * 1024, 16, name="0" * 31 + "1")
    code, out, _ = lk.run("key", "list")
    assert code == 0
    shown = [line[2:].split()[0] for line in out.splitlines()[1:-1]]
    assert len(set(shown)) == 3, f"key list shows ids that cannot be told apart: {out}"
    code, out, _ = lk.run("verify", "--json")
    problems = {p["object"]: p["message"] for p in json.loads(out)["problems"]}
    assert code == 1 and set(problems) == {f"keys/{over.name}", f"keys/{costly.name}"}
    for message in problems.values():
        command = re.search(r"'lkvault (key remove \w+)'", message)
        assert command, f"verify names no command to remove the slot: {message}"
        code, _, err = lk.run(*command.group(1).split())
        assert code == 0, err
    assert lk.run("verify")[0] == 0
    record("costly-key-slots", planted=2, reported=2)

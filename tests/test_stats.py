"""'lkvault stats', 'lkvault prune' and 'lkvault forget' as a user runs them (in-process CLI)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from helpers_cli import assert_one_line_error, csv_text


def store(cli, path: Path, data: bytes) -> str:  # noqa: ANN001
    path.write_bytes(data)
    result = cli("snapshot", "--any-file", str(path))
    assert result.code == 0, result.err
    return result.out.strip()


@pytest.fixture
def three(cli, tmp_path: Path) -> list[str]:  # noqa: ANN001
    """Three snapshots: a table; a zip of random bytes sharing nothing; the table again with
    more rows (compressed against the first, never against the zip)."""
    assert cli("init").code == 0
    base = csv_text(400_000, seed=61)
    with zipfile.ZipFile(tmp_path / "c.zip", "w") as archive:
        archive.writestr("noise.bin", os.urandom(200_000))
    return [
        store(cli, tmp_path / "a.csv", base),
        store(cli, tmp_path / "c.zip", (tmp_path / "c.zip").read_bytes()),
        store(cli, tmp_path / "b.csv", base + csv_text(100_000, seed=62)),
    ]


def test_stats_report_sizes_ratios_and_what_each_snapshot_added(cli, three) -> None:  # noqa: ANN001
    result = cli("stats", "--json")
    assert result.code == 0, result.err
    stats = result.json()
    assert stats["snapshots"] == 3
    first, noise, table = stats["per_snapshot"]
    # The last snapshot repeats the first: it adds only its new rows, and most of what it
    # needs is shared.
    assert table["added_content"] < table["content_size"] / 2
    assert table["unique_content"] == table["added_content"]
    assert first["unique_content"] < first["added_content"]
    assert noise["added_content"] >= 200_000 and noise["unique_content"] == noise["added_content"]
    assert stats["dedup_ratio"] > 1.3
    assert stats["compression_ratio"] > 1.5  # CSV text compresses
    assert stats["stored_size"] < stats["logical_size"]
    assert stats["unused_content_size"] == 0
    text = cli("stats")
    assert "deduplication" in text.out and three[1][:8] in text.out


def test_forget_then_prune_frees_exactly_the_unneeded_data(cli, three, tmp_path: Path) -> None:  # noqa: ANN001
    vault = tmp_path / "vault"
    size = sum(p.stat().st_size for p in (vault / "data").rglob("*") if p.is_file())
    dry = cli("forget", "--keep-last", "1", "--dry-run", "--json")
    assert dry.code == 0
    assert [s["keep"] for s in dry.json()["snapshots"]] == [False, False, True]
    assert [s["reasons"] for s in dry.json()["snapshots"]][2] == ["last 1"]
    assert len(cli("list", "--json").json()) == 3  # a dry run changes nothing

    forgot = cli("forget", three[1])
    assert forgot.code == 0 and "Forgot 1 snapshot" in forgot.out
    unused = cli("stats", "--json").json()
    assert unused["unused_content_size"] >= 200_000  # the zip's random bytes
    pruned = cli("prune", "--json")
    assert pruned.code == 0, pruned.err
    assert pruned.json()["packs_repacked"] + pruned.json()["packs_deleted"] >= 1
    after = cli("stats", "--json").json()
    assert after["unused_content_size"] == 0 and after["snapshots"] == 2
    assert sum(p.stat().st_size for p in (vault / "data").rglob("*") if p.is_file()) < size
    assert cli("verify", "--read-data").code == 0
    for snap_id, name in ((three[0], "a.csv"), (three[2], "b.csv")):
        out = tmp_path / f"restored-{name}"
        assert cli("restore", snap_id, "-o", str(out)).code == 0
        assert out.read_bytes() == (tmp_path / name).read_bytes()
    again = cli("prune", "--json")
    assert again.json()["packs_deleted"] == 0 and again.json()["bytes_freed"] == 0


def test_forget_refuses_what_it_must_not_do(cli, three) -> None:  # noqa: ANN001
    nothing = cli("forget")
    assert nothing.code == 2 and "no retention rule" in assert_one_line_error(nothing.err)
    both = cli("forget", three[0], "--keep-last", "1")
    assert both.code == 2
    bad = cli("forget", "--keep-within", "soon")
    assert bad.code == 2 and "duration" in assert_one_line_error(bad.err)
    assert len(cli("list", "--json").json()) == 3


def test_forgetting_is_not_a_rollback_but_removal_behind_its_back_is(
    cli, three, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    # A second computer last saw snapshot #2 as the newest (what its state folder remembers).
    vault_id = json.loads((tmp_path / "vault" / "config").read_text())["vault_id"]
    other_state = tmp_path / "other-state"
    (other_state / vault_id).mkdir(parents=True)
    (other_state / vault_id / "head.json").write_text(json.dumps({"seq": 2, "id": three[1]}))
    assert cli("forget", three[1]).code == 0
    monkeypatch.setenv("LKVAULT_STATE_DIR", str(other_state))
    clean = cli("verify")
    assert clean.code == 0, clean.out
    listed = cli("list")
    assert listed.code == 0 and listed.err == "", listed.err
    # A snapshot file deleted by hand is still found, even through the forgotten one.
    (tmp_path / "vault" / "snapshots" / three[0]).unlink()
    monkeypatch.setenv("LKVAULT_STATE_DIR", str(tmp_path / "fresh-state"))
    tampered = cli("verify", "--json")
    assert tampered.code == 1
    assert any(three[0][:8] in p["message"] for p in tampered.json()["problems"])


def test_verify_subsets_cover_all_data_over_their_runs(cli, three) -> None:  # noqa: ANN001
    full = cli("verify", "--read-data", "--json").json()
    parts = [cli("verify", "--read-data-subset", f"{n}/3", "--json").json() for n in (1, 2, 3)]
    assert all(p["ok"] for p in parts)
    assert sum(p["bytes_checked"] for p in parts) == full["bytes_checked"]
    assert sum(p["blobs_checked"] for p in parts) == full["blobs_checked"]
    # A percentage reads the next part on each run, on this computer.
    rotating = [cli("verify", "--read-data-subset", "34%", "--json").json() for _ in range(4)]
    assert [r["subset"] for r in rotating] == [
        {"part": 1, "parts": 2},
        {"part": 2, "parts": 2},
        {"part": 1, "parts": 2},
        {"part": 2, "parts": 2},
    ]
    assert rotating[0]["bytes_checked"] + rotating[1]["bytes_checked"] == full["bytes_checked"]
    for bad in ("0/3", "4/3", "0%", "150%", "half"):
        result = cli("verify", "--read-data-subset", bad)
        assert result.code == 2, bad

"""One count of connections everywhere (issue 20): every row of Connections.csv, as LinkedIn
counts them, hidden members included and said to be hidden, in list, status, timeline, diff,
browse and contacts alike."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from lkvault.cli.browse.source import SnapshotSource
from lkvault.cli.browse.webapp import build_app
from lkvault.vault import Environment, Vault

from tests.conftest import PASSPHRASE
from tests.test_browse_progressive import get
from tests.test_export_cli import later_month
from tests.test_export_parsing import SAMPLE


def connection_rows(path: Path) -> tuple[int, int]:
    """(rows, rows of hidden members) of the export's Connections.csv, counted with the
    standard csv module from its header line: a hidden member's row has no name and no URL."""
    with zipfile.ZipFile(path) as archive:
        text = archive.read("Connections.csv").decode("utf-8")
    table = csv.DictReader(io.StringIO(text[text.index("First Name,") :], newline=""))
    rows = [row for row in table if any((value or "").strip() for value in row.values())]
    hidden = [r for r in rows if not (r["First Name"] or r["Last Name"] or r["URL"]).strip()]
    return len(rows), len(hidden)


def test_every_command_counts_the_rows_linkedin_shows(cli, tmp_path: Path) -> None:  # noqa: ANN001
    exports = [SAMPLE, later_month(tmp_path, 3)]
    expected = [connection_rows(path) for path in exports]
    assert all(hidden for _total, hidden in expected)  # the generator writes hidden members
    assert cli("init").code == 0
    ids = [cli("snapshot", str(path)).out.strip() for path in exports]

    listed = cli("list", "--json").json()
    counts = [s["export"]["counts"] for s in listed]
    assert [(c["connections"], c["connections_hidden"]) for c in counts] == expected
    listed_text = cli("list").out
    for total, hidden in expected:  # the table says the hidden ones as status does
        assert f"{total:,} connections ({hidden:,} hidden), " in listed_text

    timeline = cli("timeline", "--json").json()["snapshots"]
    assert [(r["connections"], r["connections_hidden"]) for r in timeline] == expected

    (total_before, hidden_before), (total, hidden) = expected
    status = cli("status", "--max-age", "100000")
    assert status.code == 0, status.err
    assert f"{total:,} connections ({hidden:,} hidden), " in status.out

    diff = cli("diff", "--json").json()["connections"]
    assert diff["hidden"] == [hidden_before, hidden]
    assert len(diff["added"]) - len(diff["removed"]) == (total - hidden) - (
        total_before - hidden_before
    )

    for snapshot_id, (rows, hidden_rows) in zip(ids, expected, strict=True):
        made = cli("contacts", snapshot_id[:12], "--json").json()
        assert (made["connections"], made["hidden_left_out"]) == (rows, hidden_rows)
        assert made["content"].count("BEGIN:VCARD") == made["contacts"] == rows - hidden_rows
        said = cli("contacts", snapshot_id[:12], "-f", "csv")
        assert said.out.count("\r\n") == 1 + rows - hidden_rows  # the header, then one a row
        assert said.err.splitlines() == [
            f"lkvault: {hidden_rows:,} hidden members of {rows:,} connections left out "
            "(LinkedIn gives neither their name nor their profile URL)"
        ]

    opened = Vault.open(str(tmp_path / "vault"), PASSPHRASE, Environment(state_dir=None))
    snapshots = opened.snapshots()
    source = SnapshotSource(opened, snapshots)
    for snapshot, (rows, hidden_rows) in zip(snapshots, expected, strict=True):
        source.catalog(snapshot)  # read now: the pages answer from it
        app = build_app(source, snapshot)
        status_code, answer = get(app, f"/s/{snapshot.short_id}/api/connections")
        assert status_code == 200
        page = json.loads(answer)
        assert page["total"] == rows
        assert page["summary"] == f"{rows:,} connections ({hidden_rows:,} hidden)"
        status_code, overview = get(app, f"/s/{snapshot.short_id}/")
        assert f"<strong>{rows:,}</strong> connections ({hidden_rows:,} hidden)" in overview
        assert f"{rows - hidden_rows:,} cards; {hidden_rows:,} hidden members left out" in (
            overview
        )
        status_code, cards = get(app, f"/s/{snapshot.short_id}/download/contacts.vcf")
        assert cards.count("BEGIN:VCARD") == rows - hidden_rows


def test_a_hidden_member_is_listed_as_such_and_has_no_page(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    assert cli("snapshot", str(SAMPLE)).code == 0
    opened = Vault.open(str(tmp_path / "vault"), PASSPHRASE, Environment(state_dir=None))
    (snapshot,) = opened.snapshots()
    source = SnapshotSource(opened, [snapshot])
    source.catalog(snapshot)
    app = build_app(source, snapshot)
    _, answer = get(app, f"/s/{snapshot.short_id}/api/connections?sort=name&page=7")
    items = json.loads(answer)["items"]
    hidden = [item for item in items if item["hidden"]]
    assert hidden and all(i["name"] == "Hidden member" and i["href"] is None for i in hidden)
    assert items[-1]["hidden"]  # last by name
    _, page = get(app, f"/s/{snapshot.short_id}/connections?sort=name&page=7")
    assert page.count('<span class="muted">Hidden member</span>') == len(hidden)

"""lkvault browse shows a snapshot progressively: the overview from the snapshot's recorded
summary at once, connections and their search as soon as the small tables are read, and the
messages pages only once the messages are (a vault whose reads wait for the test to let
them through; the ASGI application driven in process, no server). Behaviour only, no timing.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Collection, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from lkvault.cli.browse.source import FIRST_TABLES, MESSAGE_TABLES, SnapshotSource
from lkvault.cli.browse.threads import Threads
from lkvault.cli.browse.webapp import build_app
from lkvault.vault import Snapshot
from lkvault.vault.export import Export, MemberReaders
from lkvault.vault.export.load import load_export

from tests.test_browse_logic import sample_export

WAIT = 60.0  # seconds a background read may take before the test gives up (never asserted)
MESSAGES_CSV = (
    b"CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,DATE,SUBJECT,CONTENT\n"
    b"2-ada,,Ada Lovelace,https://www.linkedin.com/in/ada-lovelace,Jamie Doe,"
    b'2025-03-01 09:00:00 UTC,,"About the engine, and the moth"\n'
)
SUMMARY = {
    "kind": "basic",
    "date": "2025-03-15",
    "headline": "Engineer (recorded)",
    "counts": {"connections": 3, "conversations": 1, "messages": 1},
}


class GatedVault:
    """A vault whose table reads and message reads each wait until the test opens a gate."""

    def __init__(self) -> None:
        self.tables_gate = threading.Event()
        self.messages_gate = threading.Event()
        self.asked: list[frozenset[str]] = []

    def export_tables(self, snapshot: Snapshot, tables: Collection[str]) -> Export:
        self.asked.append(frozenset(tables))
        assert self.tables_gate.wait(WAIT)
        export = sample_export()
        export.messages = []  # never from here: the messages come from export_members
        return export

    def export_members(self, snapshot: Snapshot, tables: Collection[str]) -> MemberReaders:
        self.asked.append(frozenset(tables))
        assert self.messages_gate.wait(WAIT)
        return {"messages.csv": lambda: MESSAGES_CSV}


def snapshot() -> Snapshot:
    return Snapshot(
        id=bytes.fromhex("ab" * 32),
        seq=1,
        prev=None,
        time=datetime(2025, 3, 15, tzinfo=timezone.utc),
        source="Basic_LinkedInDataExport_03-15-2025.zip",
        size=1234,
        sha256=b"\0" * 32,
        tree=b"\0" * 32,
        kind="zip",
        tool="test",
        export=SUMMARY,
    )


def get(app: Any, path: str) -> tuple[int, str]:
    """Status and body of one GET through the ASGI application."""
    target, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    status = 0
    parts: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    asyncio.run(app(scope, receive, send))
    return status, b"".join(parts).decode()


def wait_until(condition: Callable[[], bool]) -> None:
    done = threading.Event()
    for _ in range(int(WAIT * 20)):
        if condition():
            return
        done.wait(0.05)
    raise AssertionError("the background read did not finish")


@pytest.fixture
def opened() -> Iterator[tuple[GatedVault, SnapshotSource, Any, str]]:
    vault = GatedVault()
    shown = snapshot()
    source = SnapshotSource(vault, [shown])  # type: ignore[arg-type]
    source.load_in_background(shown, then_history=True)
    yield vault, source, build_app(source, shown), f"/s/{shown.short_id}"
    vault.tables_gate.set()  # let the background thread end
    vault.messages_gate.set()


def test_the_overview_answers_from_the_summary_before_anything_is_read(opened: Any) -> None:
    vault, source, app, root = opened
    status, page = get(app, root + "/")
    assert status == 200 and not source.ready(snapshot())
    assert "Engineer (recorded)" in page and "data-loading" in page
    assert "<strong>3</strong> connections" in page and "<strong>1</strong> messages" in page
    status, page = get(app, root + "/connections")
    assert status == 200 and "data-loading" in page  # "reading…" until the tables are read
    assert get(app, root + "/api/connections?q=ada")[0] == 503


def test_connections_answer_before_the_messages_are_read(opened: Any) -> None:
    vault, source, app, root = opened
    vault.tables_gate.set()
    wait_until(lambda: source.ready(snapshot()))
    assert not source.messages_ready(snapshot())  # its gate is still shut

    status, page = get(app, root + "/connections?q=ada")
    assert status == 200 and "Ada Lovelace" in page and "data-loading" not in page
    status, found = get(app, root + "/api/connections?q=lovelace")
    assert status == 200 and [i["name"] for i in json.loads(found)["items"]] == ["Ada Lovelace"]
    status, page = get(app, root + "/")
    assert status == 200 and "Jamie Doe" in page and "data-loading" not in page
    assert "Reading the messages" in page
    status, page = get(app, root + "/profile")
    assert status == 200 and "Engineer" in page

    # Only the pages that show messages say they are still being read.
    for path in ("/messages", "/conversations", "/conversations/0"):
        status, page = get(app, root + path)
        assert status == 200 and "data-loading" in page and "Reading the messages" in page, path
    assert get(app, root + "/api/messages?q=moth")[0] == 503
    person = json.loads(found)["items"][0]["href"]
    status, page = get(app, person)
    assert status == 200 and "Still reading the messages" in page

    vault.messages_gate.set()
    wait_until(lambda: source.messages_ready(snapshot()))
    status, hits = get(app, root + "/api/messages?q=moth")
    assert status == 200 and json.loads(hits)["total"] == 1
    status, page = get(app, person)
    assert "Still reading the messages" not in page and "/conversations/0" in page
    status, page = get(app, root + "/")
    assert "Reading the messages" not in page


def test_conversations_answer_before_the_message_search_is_ready(
    opened: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, source, app, root = opened
    indexing = threading.Event()
    index_text = Threads.text_index

    def gated(threads: Threads) -> Any:
        assert indexing.wait(WAIT)
        return index_text(threads)

    monkeypatch.setattr(Threads, "text_index", gated)
    vault.tables_gate.set()
    vault.messages_gate.set()
    wait_until(lambda: source.messages_ready(snapshot(), search=False))
    try:
        wait_until(lambda: source.catalog(snapshot()).conversation_search_ready)
        assert not source.messages_ready(snapshot())
        status, page = get(app, root + "/conversations")
        assert status == 200 and "Ada Lovelace" in page and "data-loading" not in page
        status, found = get(app, root + "/api/conversations?q=ada")
        assert status == 200 and json.loads(found)["total"] == 1
        status, page = get(app, root + "/conversations/0")
        assert status == 200 and "About the engine, and the moth" in page
        status, page = get(app, root + "/")
        assert "Indexing the message text" in page and "Reading the messages" not in page
        status, page = get(app, root + "/messages?q=moth")
        assert status == 200 and "data-loading" in page
        assert get(app, root + "/api/messages?q=moth")[0] == 503
    finally:
        indexing.set()
    wait_until(lambda: source.messages_ready(snapshot()))
    status, hits = get(app, root + "/api/messages?q=moth")
    assert status == 200 and json.loads(hits)["total"] == 1


def test_the_tables_are_read_without_the_messages_and_the_messages_alone(opened: Any) -> None:
    vault, source, _app, _root = opened
    vault.tables_gate.set()
    vault.messages_gate.set()
    wait_until(lambda: source.messages_ready(snapshot()))
    assert vault.asked[0] == FIRST_TABLES and "messages" not in FIRST_TABLES
    assert MESSAGE_TABLES in vault.asked
    catalog = source.catalog(snapshot())
    expected = load_export({"messages.csv": lambda: MESSAGES_CSV}, None).messages
    assert list(catalog.messages) == expected
    assert [c.id for c in catalog.conversations] == ["2-ada"]


def test_a_catalog_built_in_two_steps_equals_one_built_at_once() -> None:
    from lkvault.cli.browse.catalog import Catalog

    whole = Catalog(sample_export())
    tables = sample_export()
    messages, tables.messages = tables.messages, []
    stepwise = Catalog(tables, with_messages=False)
    assert not stepwise.messages_ready and stepwise.search_messages("engine", 1).total == 0
    stepwise.add_messages(messages)
    assert stepwise.messages_ready
    assert list(stepwise.conversations) == list(whole.conversations)
    assert list(stepwise.message_hits) == list(whole.message_hits)
    assert stepwise.search_messages("engine", 1) == whole.search_messages("engine", 1)
    assert stepwise.threads_with(whole.connections[0]) == whole.threads_with(whole.connections[0])

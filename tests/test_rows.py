"""Row order: a CSV stored with its groups in a stable order comes back exactly, in its own order,
and a conversation that moves to the top of messages.csv stays where it was in what is stored."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lkvault.vault.errors import IntegrityError
from lkvault.vault.ingest import rows
from lkvault.vault.ingest.rows import ENTRY, RecordScanner, RowPlan, encode_order, worth_reordering

HEADER = b"CONVERSATION ID,FROM,DATE,CONTENT\n"


def message(conversation: str, day: int, text: str) -> bytes:
    quoted = '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text
    date = f"2025-{1 + day // 28:02d}-{1 + day % 28:02d} 09:00:00 UTC"
    return f"{conversation},Ada,{date},{quoted}\n".encode()


def messages_csv(conversations: list[tuple[str, list[tuple[int, str]]]]) -> bytes:
    """messages.csv as LinkedIn writes it: grouped by conversation, as listed, newest first."""
    rows = [HEADER]
    for conversation, texts in conversations:
        rows += [message(conversation, day, text) for day, text in sorted(texts, reverse=True)]
    return b"".join(rows)


def scan(content: bytes, pieces: list[int] | None = None) -> tuple[bytes, RecordScanner]:
    scanner = RecordScanner()
    cuts = sorted({0, len(content), *(p % (len(content) + 1) for p in pieces or [])})
    for start, end in zip(cuts, cuts[1:], strict=False):
        scanner.feed(content[start:end])
    return encode_order(*scanner.finish()), scanner


def stored_and_restored(content: bytes, order: bytes) -> tuple[bytes, bytes]:
    """The content in canonical order, as a snapshot stores it, and as a restore rebuilds it."""
    plan = RowPlan.from_order(order, len(content))
    canonical = b"".join(content[o : o + n] for o, n in plan.store_ranges())
    reader = RowPlan.from_order(order, len(canonical))
    return canonical, b"".join(canonical[o : o + n] for o, n in reader.restore_ranges())


texts = st.text(alphabet='ab ,"\n\r\t\u00e9', max_size=12)
conversation_lists = st.lists(
    st.tuples(
        st.sampled_from(["2-a", "2-b", "2-c", '"2-d,x"', ""]),
        st.lists(st.tuples(st.integers(0, 300), texts), min_size=1, max_size=4),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(conversation_lists, st.lists(st.integers(0, 10_000), max_size=6), st.binary(max_size=40))
def test_any_content_comes_back_exactly_however_it_streams_in(
    conversations: list[tuple[str, list[tuple[int, str]]]], cuts: list[int], tail: bytes
) -> None:
    content = messages_csv(conversations) + tail  # a torn last record, stray quotes, binary
    order, _ = scan(content, cuts)
    assert order == scan(content)[0], "the order does not depend on how blocks arrive"
    canonical, restored = stored_and_restored(content, order)
    assert sorted(canonical) == sorted(content)
    assert restored == content


def test_a_conversation_moving_to_the_top_keeps_its_place_in_what_is_stored() -> None:
    history = [
        (f"2-{n:04x}", [(n % 250, f"hello {n}"), (n % 250 + 3, "fine, thanks")]) for n in range(60)
    ]
    before = messages_csv(history[::-1])  # most recently started first
    revived = history[7]
    revived[1].append((290, "news!"))
    after_order = [revived] + [c for c in history[::-1] if c is not revived]
    after = messages_csv(after_order)

    old, _ = stored_and_restored(before, scan(before)[0])
    new, restored = stored_and_restored(after, scan(after)[0])

    assert restored == after
    new_row = message("2-0007", 290, "news!")
    at = new.index(new_row)
    assert new[:at] + new[at + len(new_row) :] == old, "only the new message is new"
    assert after.index(new_row) < len(HEADER) + 1, "LinkedIn moved the conversation to the top"


def test_tables_without_groups_or_already_in_order_are_left_as_they_are() -> None:
    connections = b"First Name,Last Name,Connected On\n" + b"".join(
        f"Name{n},Surname{n},01 Jan 2025\n".encode() for n in range(100)
    )
    scanner = RecordScanner()
    scanner.feed(connections)
    assert not worth_reordering(*scanner.finish(), scanner.records), "one row per group"

    oldest_first = messages_csv(
        [(f"2-{n}", [(n, "a"), (n + 1, "b"), (n + 2, "c")]) for n in range(20)]
    )
    scanner = RecordScanner()
    scanner.feed(oldest_first)
    assert not worth_reordering(*scanner.finish(), scanner.records), "already in stored order"

    newest_first = messages_csv(
        [(f"2-{n}", [(n, "a"), (n + 1, "b"), (n + 2, "c")]) for n in range(20)][::-1]
    )
    scanner = RecordScanner()
    scanner.feed(newest_first)
    assert worth_reordering(*scanner.finish(), scanner.records)


def test_a_table_with_more_groups_than_a_reader_accepts_keeps_its_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rows, "MAX_ENTRIES", 8)
    many = messages_csv([(f"2-{n}", [(n, "a"), (n + 1, "b")]) for n in range(20)][::-1])
    scanner = RecordScanner()
    scanner.feed(many)
    tags, lengths = scanner.finish()
    assert scanner.overflowed and not tags and not lengths, "no memory kept for the groups"
    assert not worth_reordering(tags, lengths, scanner.records)


@pytest.mark.parametrize(
    ("order", "size"),
    [
        (ENTRY.pack(0, 10) + ENTRY.pack(1, 5), 16),  # does not add up
        (ENTRY.pack(0, 10) + b"\0", 10),  # a torn entry
        (ENTRY.pack(0, 2**32 - 1) + ENTRY.pack(0, 2**32 - 1), 10),
    ],
)
def test_an_order_that_does_not_tile_the_content_is_refused(order: bytes, size: int) -> None:
    with pytest.raises(IntegrityError):
        RowPlan.from_order(order, size)


# The C scanner (vault/format/_rows.c) must give exactly the normative Python scanner's groups:
# a writer's stored order must not depend on whether the extension was built.
native_only = pytest.mark.skipif(not rows.NATIVE, reason="the C record scanner is not built")

cells = st.one_of(
    st.sampled_from(["2-a", "2-b", '"2-a"', "", "x" * 600, '"q,""\n"', "Ada"]),
    st.sampled_from(
        [
            "2025-01-15 07:17:58 UTC",
            "2024-12-31 23:59:59",
            "1969-12-31 23:59:59",  # before 1970: tag 0
            "0000-01-01 00:00:00",  # no such year: tag 0
            "2025-13-01 00:00:00",  # no such month: tag 0
            "2025-02-31 99:99:99",  # days and hours beyond their range add up
            "9999-12-31 23:59:59",  # past 32 bits: the largest tag
            "2025-01-15 07:17:5",
        ]
    ),
    st.text(alphabet='ab ,"\n\r\t\u00e9\u00a0', max_size=20),
)
csv_records = st.lists(
    st.tuples(st.lists(cells, min_size=1, max_size=5), st.sampled_from(["\n", "\r\n", ""])),
    max_size=12,
).map(lambda records: "".join(",".join(c) + end for c, end in records).encode())


def both_scanners(content: bytes, cuts: list[int]) -> tuple[tuple[object, ...], ...]:
    results = []
    for scanner in (rows.PythonRecordScanner(), rows.NativeRecordScanner()):
        bounds = sorted({0, len(content), *(c % (len(content) + 1) for c in cuts)})
        for start, end in zip(bounds, bounds[1:], strict=False):
            scanner.feed(content[start:end])
        tags, lengths = scanner.finish()
        results.append((list(tags), list(lengths), scanner.records, scanner.overflowed))
    return tuple(results)


@native_only
@settings(max_examples=300, deadline=None)
@given(csv_records, st.lists(st.integers(0, 10_000), max_size=8))
def test_the_c_scanner_finds_the_groups_the_python_one_finds(
    content: bytes, cuts: list[int]
) -> None:
    python, native = both_scanners(content, cuts)
    assert native == python


@native_only
@settings(max_examples=40, deadline=None)
@given(csv_records.filter(lambda content: len(content) < 400))
def test_the_c_scanner_agrees_fed_in_two_pieces_cut_anywhere(content: bytes) -> None:
    for cut in range(len(content) + 1):
        python, native = both_scanners(content, [cut])
        assert native == python, cut


@native_only
def test_the_c_scanner_agrees_on_a_generated_messages_csv_and_on_overflow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conversations = [(f"2-{n}", [(n, 'a "b"\nc'), (n + 1, "b,c")]) for n in range(300)][::-1]
    content = messages_csv(conversations).replace(b"\n", b"\r\n")
    python, native = both_scanners(content, [7, 4096, 4097, 65536])
    assert native == python and len(python[0]) == 301  # the header, and each conversation
    monkeypatch.setattr(rows, "MAX_ENTRIES", 8)
    python, native = both_scanners(content, [])
    assert native == python and python[3], "both overflowed"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=300), st.integers(1, 7))
def test_the_canonical_order_sorts_by_tag_keeping_positions(tags: list[int], run: int) -> None:
    from array import array

    original = rows.SORT_RUN
    rows.SORT_RUN = run  # runs merged across every boundary, equal tags in many runs
    try:
        order = rows.canonical_order(array("I", tags))
    finally:
        rows.SORT_RUN = original
    assert list(order) == sorted(range(len(tags)), key=lambda position: tags[position])


def test_a_large_inbox_row_plan_holds_no_python_int_per_conversation() -> None:
    import tracemalloc
    from array import array

    groups = 8 * rows.SORT_RUN
    tags = array("I", ((n * 2654435761) % 100_003 for n in range(groups)))
    lengths = array("I", [100] * groups)
    order = encode_order(tags, lengths)
    tracemalloc.start()
    try:
        plan = RowPlan.from_order(order, 100 * groups)
        held = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert list(plan.canonical[:3]) == sorted(range(groups), key=lambda n: tags[n])[:3]
    # The plan is 8 bytes a group, and building it takes about 16 more (the order's fields,
    # the sorted runs); sorted whole, as one list of Python ints, it took over 60.
    assert held < 30 * groups, f"{held / groups:.1f} bytes a group"

"""lkvault browse, the pure parts: search, the per-snapshot catalog, people across snapshots,
and what changed, on Export objects built here (no vault, no server)."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timezone
from operator import itemgetter

from hypothesis import given, settings
from hypothesis import strategies as st
from lkvault.cli.browse.catalog import PAGE_SIZE, Catalog
from lkvault.cli.browse.changes import changes_since
from lkvault.cli.browse.people import People, Version, person_id
from lkvault.cli.browse.present import display_text, link_target, mail_target, snippet
from lkvault.cli.browse.textsearch import SEPARATOR, TextIndex, _fold_all, fold
from lkvault.vault.export import Connection, Export, Message, conversations
from lkvault.vault.export.messagetable import read_messages

from bench.exportgen import HOSTILE_URLS

ADA_URL = "https://www.linkedin.com/in/ada-lovelace"


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2025, 3, day, hour, 0, tzinfo=timezone.utc)


def message(thread: str, sender: str, to: str, when: datetime, text: str, **kw: object) -> Message:
    return Message(
        conversation_id=thread,
        conversation_title=None,
        sender=sender,
        sender_url=kw.get("sender_url"),  # type: ignore[arg-type]
        recipients=(to,),
        recipient_urls=tuple(kw.get("recipient_urls", ())),  # type: ignore[arg-type]
        sent_at=when,
        subject=None,
        content=text,
    )


def ada(company: str = "Analytical Engines", position: str = "Mathematician") -> Connection:
    return Connection(
        "Ada", "Lovelace", ADA_URL, "ada@example.com", company, position, date(2024, 11, 14)
    )


def sample_export() -> Export:
    return Export(
        profile={"First Name": "Jamie", "Last Name": "Doe", "Headline": "Engineer"},
        connections=[
            ada(),
            Connection("José", "García", None, None, "Hooli", "Recruiter", date(2023, 5, 2)),
            Connection("Zoë", "Adams", "https://www.linkedin.com/in/zoe", None, None, None, None),
            Connection("", "", None, None, None, None, date(2022, 1, 1)),  # a hidden member
        ],
        messages=[
            message(
                "t1",
                "Ada Lovelace",
                "Jamie Doe",
                at(1),
                "Hello<br>second line &amp; more",
                sender_url=ADA_URL + "/",
            ),
            message(
                "t1",
                "Jamie Doe",
                "Ada Lovelace",
                at(3),
                "Reply about the engine",
                recipient_urls=[ADA_URL],
            ),
            message("t2", "José García", "Jamie Doe", at(2), "A role in March? <script>x</script>"),
        ],
    )


def test_search_folds_case_and_accents_and_needs_every_word() -> None:
    index = TextIndex(["José García Hooli Recruiter", "Ada Lovelace Analytical", "Jose Smith"])
    assert index.search("jose").entries == [0, 2]
    assert index.search("GARCIA recruiter").entries == [0]
    assert index.search("garcía  hooli").entries == [0]
    assert index.search("nobody").entries == []
    assert index.search("").entries == [0, 1, 2]
    assert fold("Ñandú  Straße") == "nandu strasse"


# Characters whose folding differs: accents precomposed or combining (removed), marks that are
# kept (Japanese of one class; Hebrew of several, which must be reordered as a whole), case
# outside ASCII, ligatures, wide forms, a character folded into two, emoji, the separator.
FOLDING = "aeEsSkK iI01 .,<>&;éÉñÑçßẞİıŁłøØæÆœþÞđ\u0301\u0327がガ\u3099\u05b0\u0591ﬁＡΣσς😀\x00"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=FOLDING, max_size=12), max_size=8))
def test_the_index_folds_each_text_as_the_whole_text_would_be(texts: list[str]) -> None:
    index = TextIndex(texts)
    assert len(index) == len(texts)
    for number, text in enumerate(texts):
        folded = _fold_all(text.replace(SEPARATOR, " "))
        assert index.text(number) == folded
        words = fold(text).split()
        if words:  # a text is found by any piece of it, typed any way
            assert number in index.search(words[0][:3]).entries


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab<>&;r/ BRltamp#x3", max_size=30))
def test_markup_is_read_as_the_regular_expressions_read_it(text: str) -> None:
    assert display_text(text) == html.unescape(re.sub(r"<br\s*/?>", "\n", text, flags=re.I))


def test_typing_narrows_a_search_without_changing_its_answer() -> None:
    texts = [
        f"message {n} about {'coffee' if n % 3 else 'tea'} and caf\u00e9 {n % 7}"
        for n in range(300)
    ]
    typed, fresh = TextIndex(texts), TextIndex(texts)
    for query in ("c", "co", "cof", "coffee", "coffee 4", "coffee 45", "tea", "café 3", "xyz"):
        assert typed.search(query).entries == fresh.search(query).entries, query
        assert typed.search(query, limit=20) == TextIndex(texts).search(query, limit=20), query
    assert typed.search("CAFE about tea").total == 100


def test_search_stops_at_its_limit_and_says_so() -> None:
    index = TextIndex([f"message {n} about coffee" for n in range(500)])
    hits = index.search("coffee", limit=120)
    assert hits.entries == list(range(120)) and hits.capped
    everything = index.search("coffee")
    assert everything.total == 500 and not everything.capped
    assert not index.search("message 49 ", limit=120).capped


def test_connections_are_sorted_searched_and_paged() -> None:
    catalog = Catalog(sample_export())
    names = [c.name for c in catalog.connections]
    # The hidden member's row is a connection as LinkedIn counts them (listed, counted), but
    # not a person: no page of its own, last by name.
    assert names == ["Ada Lovelace", "José García", "", "Zoë Adams"]
    assert (catalog.hidden_connections, catalog.contacts) == (1, 3)
    assert len(catalog.by_person) == 3
    by_name = catalog.search_connections("", "name", 1)
    assert [catalog.connections[n].name for n in by_name.items] == [
        "Zoë Adams",
        "José García",
        "Ada Lovelace",
        "",
    ]
    oldest = catalog.search_connections("", "oldest", 1)
    assert [catalog.connections[n].name for n in oldest.items][:3] == [
        "",
        "José García",
        "Ada Lovelace",
    ]
    found = catalog.search_connections("recruiter", "recent", 1)
    assert [catalog.connections[n].name for n in found.items] == ["José García"]
    assert catalog.connection(person_id(ada().key)) == catalog.connections[0]

    many = Export(
        connections=[
            Connection(f"P{n}", "X", None, None, "Acme", None, None)
            for n in range(PAGE_SIZE * 2 + 5)
        ]
    )
    page = Catalog(many).search_connections("acme", "recent", 3)
    assert (page.number, page.pages, page.total, len(page.items)) == (3, 3, PAGE_SIZE * 2 + 5, 5)
    assert Catalog(many).search_connections("acme", "recent", 99).number == 3


def test_threads_messages_and_a_persons_conversations() -> None:
    catalog = Catalog(sample_export())
    titles = [catalog.thread_title(t) for t in catalog.conversations]
    assert titles == ["Ada Lovelace", "José García"]  # most recent first, without the owner
    assert [m.content for m in catalog.conversations[0].messages][0].startswith("Hello")
    newest = catalog.message(catalog.message_hits[0])
    assert newest.content == "Reply about the engine"
    page = catalog.search_messages("second line", 1)
    assert [catalog.message_hits[n].conversation for n in page.items] == [0]
    assert catalog.search_messages("script", 1).total == 1
    assert catalog.threads_with(ada()) == [0]  # matched by profile URL, trailing slash or not
    assert [h.position for h in catalog.messages_after(date(2025, 3, 1))] == [1, 0]


def test_message_text_keeps_markup_as_text() -> None:
    assert display_text("Hi<br>there<BR/>&amp; bye") == "Hi\nthere\n& bye"
    assert display_text("<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert display_text("&lt;b&gt;") == "<b>"  # decoded to text, still never parsed as HTML


def test_snippets_mark_the_searched_words() -> None:
    parts = snippet("a long text about the Analytical Engine and more", "engine")
    assert ("Engine", True) in parts
    assert "".join(text for text, _ in parts) == "a long text about the Analytical Engine and more"
    folded = snippet("Łukasz of Ørsted, Straße 5, Jose\u0301!", "lukasz orsted strasse jose")
    assert [text for text, marked in folded if marked] == [
        "Łukasz",
        "Ørsted",
        "Straße",
        "Jose\u0301",
    ]
    far = snippet("x " * 200 + "needle here", "needle", width=60)
    assert far[0][0].startswith("…") and ("needle", True) in far


def version(label: date, *connections: Connection, snap: str | None = None) -> Version:
    return Version(snap or label.isoformat(), label, Export(connections=list(connections)))


def test_a_persons_story_across_snapshots() -> None:
    grace = Connection(
        "Grace",
        "Hopper",
        "https://www.linkedin.com/in/grace",
        None,
        "Navy",
        "Rear Admiral",
        date(2020, 1, 1),
    )
    versions = [
        version(date(2025, 1, 15), ada(), grace),
        version(date(2025, 2, 15), ada("Difference Labs", "Head of Research"), grace),
        version(date(2025, 3, 15), grace),
        version(date(2025, 4, 15), ada("Difference Labs", "Head of Research"), grace),
    ]
    people = People(versions)
    events = people.timeline(ada().key)
    assert [(e.kind, e.when) for e in events] == [
        ("connected", date(2024, 11, 14)),
        ("first_seen", date(2025, 1, 15)),
        ("job", date(2025, 2, 15)),
        ("removed", date(2025, 3, 15)),
        ("back", date(2025, 4, 15)),
    ]
    job = events[2]
    assert job.before is not None and job.before.company == "Analytical Engines"
    assert job.after is not None and job.after.company == "Difference Labs"
    assert people.known(ada().key) == ada("Difference Labs", "Head of Research")
    assert people.keys[person_id(ada().key)] == ada().key
    assert people.version_before("2025-02-15") == versions[0]
    assert people.version_before("2025-01-15") is None


def test_what_changed_since_the_previous_snapshot() -> None:
    before = Export(connections=[ada(), Connection("Old", "Friend", None, None, None, None, None)])
    current = sample_export()
    current.connections[0] = ada("Difference Labs", "Head of Research")
    found = changes_since(version(date(2025, 3, 1), *before.connections), Catalog(current))
    assert [c.name for c in found.diff.added] == ["José García", "Zoë Adams"]
    assert [c.name for c in found.diff.removed] == ["Old Friend"]
    assert found.diff.hidden == (0, 1)  # the hidden member's row is counted, as such
    assert [(j.old.company, j.new.company) for j in found.diff.changed] == [
        ("Analytical Engines", "Difference Labs")
    ]
    # Messages dated after the previous export's day: the two of March 2 and 3.
    assert len(found.new_messages) == 2
    assert found.new_threads == [(0, 1), (1, 1)]
    assert changes_since(None, Catalog(current)).previous is None


def test_threads_from_the_rows_are_the_threads_records_make() -> None:
    csv_text = (
        "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,RECIPIENT PROFILE URLS,"
        "DATE,SUBJECT,CONTENT\n"
        "t1,,Ada,u/ada,Jamie,u/jamie,2025-03-02 10:00:00 UTC,,Tie with t2\n"
        "t2,,Bob,u/bob,Jamie,u/jamie,2025-03-02 10:00:00 UTC,,Tie with t1\n"
        "t1,,Jamie,u/jamie,Ada,u/ada,2025-03-01 09:00:00 UTC,,Older\n"
        't3,Team,Cy,,"Jamie, Ada",,,,Undated\n'
        't3,,Jamie,,"Cy, Ada",,2025-02-01 08:00:00 UTC,Re: plans,Dated\n'
        "t4,,Dee,,Jamie,,,,Never dated\n"
        ",,LinkedIn,,Jamie,,2025-03-03 07:00:00 UTC,,No thread id &amp; a <br>break\n"
        "t1,,Ada,u/ada/,Jamie,u/jamie,2025-03-02 10:00:00 UTC,,Same time as the first\n"
    )
    table, _ = read_messages({"messages.csv": csv_text.encode})
    messages = list(table)
    built = Catalog(Export(), with_messages=False)
    built.add_messages(table)
    expected = conversations(messages)
    assert (
        list(built.conversations)
        == expected
        == list(Catalog(Export(messages=messages)).conversations)
    )
    assert [c.id for c in expected][:3] == [messages[6].conversation_id, "t1", "t2"]
    assert expected[-1].id == "t4" and expected[3].title == "Team"
    # Newest first; equal times and the undated keep the threads' order.
    undated = datetime.min.replace(tzinfo=timezone.utc)
    order = [
        (m.sent_at or undated, n, p)
        for n, thread in enumerate(expected)
        for p, m in enumerate(thread.messages)
    ]
    order.sort(key=itemgetter(0), reverse=True)
    assert [(h.conversation, h.position) for h in built.message_hits] == [
        (n, p) for _, n, p in order
    ]
    assert built.search_messages("no thread id & a", 1).total == 1
    assert (
        built.search_messages("break", 1).total == 1 and built.search_messages("<br", 1).total == 0
    )
    assert built.search_threads("cy", 1).items == [3]
    ada = Connection("Ada", "", "u/ada", None, None, None, None)
    assert built.threads_with(ada) == [1]  # by profile URL, trailing slash or not
    assert built.threads_with(Connection("Ada", "", None, None, None, None, None)) == [1, 3]


def test_only_absolute_http_and_https_addresses_are_link_targets() -> None:
    for url in (*HOSTILE_URLS, "https:evil.example", "https:\\\\evil.example", "java\tscript:x",
                "/relative", "https://", "ftp://files.example/", "", None):  # fmt: skip
        assert link_target(url) is None, url
    for url in (ADA_URL, "http://example.com/a?b=c#d", "HTTPS://WWW.LINKEDIN.COM/in/x"):
        assert link_target(url) == url
    assert mail_target("ada@example.com") == "mailto:ada@example.com"
    assert mail_target("ada@example.com?cc=eve@evil.example") is None
    assert mail_target("ada@example.com?bcc=x") == "mailto:ada@example.com%3Fbcc%3Dx"
    assert mail_target('=HYPERLINK("x")') is None

"""What changed between two exports, asserted exactly on hand-written exports."""

from __future__ import annotations

from collections.abc import Callable

from lkvault.vault.export import load_export
from lkvault.vault.export.diff import diff_document, diff_exports

HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
MESSAGES = (
    "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,RECIPIENT PROFILE URLS,DATE,"
    "SUBJECT,CONTENT,FOLDER,ATTACHMENTS\n"
)
PROFILE = "First Name,Last Name,Headline,Summary,Industry\n"
INVITES = "From,To,Sent At,Message,Direction,inviterProfileUrl,inviteeProfileUrl\n"
RECS = "First Name,Last Name,Company,Job Title,Text,Creation Date,Status\n"


def readers(members: dict[str, str]) -> dict[str, Callable[[], bytes]]:
    return {name: (lambda text=text: text.encode()) for name, text in members.items()}


OLD = load_export(
    readers(
        {
            "Connections.csv": HEADER
            + "Ada,Example,https://www.linkedin.com/in/ada/,,Acme,Engineer,14 Nov 2024\n"
            + "Bob,Sample,https://www.linkedin.com/in/bob,,Globex,CTO,21 Mar 2019\n"
            + "Cy,Old,,,Initech,Dev,01 Jan 2018\n"
            + ",,,,,,02 Oct 2024\n",
            "messages.csv": MESSAGES
            + "2-A,,Bob Sample,,Ada Example,,2024-11-15 10:20:01 UTC,,Hello,INBOX,\n",
            "Profile.csv": PROFILE + "Ada,Example,Engineer at Acme,Builds things,Software\n",
            "Invitations.csv": INVITES + 'Ann,Ada Example,"9/27/25, 8:41 AM",,INCOMING,,\n',
            "Recommendations_Received.csv": RECS
            + 'Eve,Stone,Initech,CTO,"Great.","12/22/22, 7:24 PM",VISIBLE\n',
            "Recommendations_Given.csv": RECS,
        }
    ),
    "Basic_LinkedInDataExport_01-15-2026.zip",
)
NEW = load_export(
    readers(
        {
            "Connections.csv": HEADER
            + "Dee,New,https://www.linkedin.com/in/dee,d@example.com,Hooli,PM,10 Feb 2026\n"
            + "Ada,Example,https://www.linkedin.com/in/ada,,Acme,Staff Engineer,14 Nov 2024\n"
            + "Cy,Old,,,Initech,Dev,01 Jan 2018\n"
            + ",,,,,,02 Oct 2024\n"
            + ",,,,,,03 Oct 2024\n",
            "messages.csv": MESSAGES
            + "2-B,Lunch,Dee New,,Ada Example,,2026-02-11 09:00:00 UTC,,Lunch?,INBOX,\n"
            + "2-A,,Ada Example,,Bob Sample,,2026-02-01 10:20:01 UTC,,Hi again,INBOX,\n"
            + "2-A,,Bob Sample,,Ada Example,,2024-11-15 10:20:01 UTC,,Hello,INBOX,\n",
            "Profile.csv": PROFILE + "Ada,Example,Staff Engineer at Acme,Builds things,\n",
            "Invitations.csv": INVITES
            + 'Ada Example,Dee New,"2/9/26, 8:00 AM",,OUTGOING,,\n'
            + 'Ann,Ada Example,"9/27/25, 8:41 AM",,INCOMING,,\n',
            "Recommendations_Received.csv": RECS
            + 'Eve,Stone,Initech,CTO,"Great.","12/22/22, 7:24 PM",VISIBLE\n',
            "Recommendations_Given.csv": RECS
            + 'Dee,New,Hooli,PM,"Sharp.","2/12/26, 7:24 PM",VISIBLE\n',
        }
    ),
    "Basic_LinkedInDataExport_02-15-2026.zip",
)


def test_diff_document_is_exact() -> None:
    document = diff_document(diff_exports(OLD, NEW))
    assert document["connections"] == {
        "added": [
            {
                "name": "Dee New",
                "url": "https://www.linkedin.com/in/dee",
                "company": "Hooli",
                "position": "PM",
                "connected_on": "2026-02-10",
            }
        ],
        "removed": [
            {
                "name": "Bob Sample",
                "url": "https://www.linkedin.com/in/bob",
                "company": "Globex",
                "position": "CTO",
                "connected_on": "2019-03-21",
            }
        ],
        "changed": [
            {
                "name": "Ada Example",
                "url": "https://www.linkedin.com/in/ada",
                "company": ["Acme", "Acme"],
                "position": ["Engineer", "Staff Engineer"],
                "fields": ["position"],
            }
        ],
        "url_changed": [],
        "hidden": [1, 2],
    }
    assert document["missing_files"] == {"older": [], "newer": []}
    assert document["messages"]["new"] == 2
    assert document["messages"]["new_conversations"] == 1
    assert document["messages"]["removed"] == 0
    assert [
        (c["id"], c["new_messages"], c["new_conversation"])
        for c in document["messages"]["conversations"]
    ] == [
        ("2-B", 1, True),
        ("2-A", 1, False),
    ]
    assert document["profile"]["changed"] == {
        "Headline": ["Engineer at Acme", "Staff Engineer at Acme"],
        "Industry": ["Software", None],
    }
    assert document["recommendations"]["new"] == [
        {"direction": "given", "name": "Dee New", "company": "Hooli", "job_title": "PM"}
    ]
    assert [(i["to"], i["direction"]) for i in document["invitations"]["new"]] == [
        ("Dee New", "OUTGOING")
    ]


def test_an_export_compared_with_itself_has_no_changes() -> None:
    same = diff_exports(NEW, NEW)
    assert same.empty
    assert diff_document(same)["connections"]["added"] == []


def test_connections_without_url_are_matched_by_name_across_eras() -> None:
    # 2018 exports have no URL column: the same person matches by name (case-insensitively).
    old = load_export(
        readers({"Connections.csv": "First Name,Last Name,Company\nana,silva,Globex\n"}), None
    )
    new = load_export(
        readers({"Connections.csv": "First Name,Last Name,Company\nAna,Silva,Initech\n"}), None
    )
    result = diff_exports(old, new)
    assert (result.added, result.removed) == ([], [])
    assert [(c.old.company, c.new.company) for c in result.changed] == [("Globex", "Initech")]

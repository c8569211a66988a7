"""What 'lkvault snapshot' refuses: files that are not a LinkedIn export (issue 20, item 8)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lkvault.vault.export.layout import export_refusal

from tests.helpers_cli import assert_one_line_error
from tests.test_export_parsing import SAMPLE


def _html_page(folder: Path) -> Path:
    page = folder / "Basic_LinkedInDataExport_06-15-2026.zip"
    page.write_text("<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>\n")
    return page


def _empty_zip(folder: Path) -> Path:
    path = folder / "empty.zip"
    with zipfile.ZipFile(path, "w"):
        pass
    return path


def _text_file(folder: Path) -> Path:
    path = folder / "notes.txt"
    path.write_text("remember to download the export\n")
    return path


@pytest.mark.parametrize(
    ("make", "what"),
    [(_html_page, "an HTML page"), (_empty_zip, "an empty zip"), (_text_file, "a text file")],
)
def test_a_file_that_is_not_an_export_is_refused_in_one_line(
    cli, tmp_path: Path, make, what: str
) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    path = make(tmp_path)
    result = cli("snapshot", str(path))
    assert result.code == 2
    message = assert_one_line_error(result.err)
    assert f"{path.name} is not a LinkedIn export" in message and what in message
    assert "--any-file" in message
    assert result.out == ""
    assert cli("list", "--json").json() == []


def test_any_file_stores_it_exactly_when_asked(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    page = _html_page(tmp_path)
    stored = cli("snapshot", "--any-file", str(page))
    assert stored.code == 0, stored.err
    out = tmp_path / "back.zip"
    assert cli("restore", stored.out.strip(), "-o", str(out)).code == 0
    assert out.read_bytes() == page.read_bytes()


def test_an_export_is_still_accepted_whatever_its_name(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    renamed = tmp_path / "download.zip"  # the tables inside say what it is
    renamed.write_bytes(SAMPLE.read_bytes())
    assert cli("snapshot", str(renamed)).code == 0


def test_the_rule_accepts_the_early_contacts_exports() -> None:
    outlook = b'"Title","First Name","Middle Name","Last Name","Suffix","E-mail Address"\r\n'
    assert (
        export_refusal("linkedin_connections_export_microsoft_outlook.csv", None, outlook) is None
    )
    assert export_refusal("LinkedIn contacts.vcf", None, b"BEGIN:VCARD\r\nVERSION:3.0\r\n") is None
    assert export_refusal("contacts.vcf", None, b"hello") is not None
    assert export_refusal("x.zip", ["Jobs/", "photo.jpg"], b"PK") is not None
    assert export_refusal("Complete_LinkedInDataExport_01-02-2024.zip", ["a.txt"], b"PK") is None

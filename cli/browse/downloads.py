"""The browse site's downloads: a snapshot's contacts (vCard, CSV) and its archive."""

from __future__ import annotations

from urllib.parse import quote

from lkvault.vault import Snapshot, contacts_csv, snapshot_day, vcards
from starlette.requests import Request
from starlette.responses import Response

from .rendering import Renderer


class Downloads:
    """Files to save, over the snapshot a request names."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.source = renderer.source

    def contacts_vcf(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
        body = vcards(self.source.catalog(snapshot).connections)
        return _attachment(
            body.encode(), "text/vcard; charset=utf-8", _download_name(snapshot, ".vcf")
        )

    def contacts_csv(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
        body = contacts_csv(self.source.catalog(snapshot).connections)
        # A byte-order mark makes spreadsheets read the file as UTF-8.
        data = "\ufeff".encode() + body.encode()
        return _attachment(data, "text/csv; charset=utf-8", _download_name(snapshot, ".csv"))

    def archive(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
        # Read whole and checked before the first byte is sent: a damaged archive gives an
        # error page, never a download that looks complete.
        media_type = "application/zip" if snapshot.kind == "zip" else "application/octet-stream"
        return _attachment(self.source.archive(snapshot), media_type, snapshot.source)


def _download_name(snapshot: Snapshot, suffix: str) -> str:
    return f"linkedin-contacts-{snapshot_day(snapshot).isoformat()}{suffix}"


def _attachment(data: bytes, media_type: str, filename: str) -> Response:
    return Response(
        data, media_type=media_type, headers={"content-disposition": _disposition(filename)}
    )


def _disposition(filename: str) -> str:
    """An attachment header that survives any file name (RFC 6266 / RFC 5987)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename
    )
    encoded = quote(filename, safe="")
    return f"attachment; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{encoded}"

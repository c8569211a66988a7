"""How a browse page is rendered: the templates, the frame every page shares, the loading
and error pages, and the guard that holds a page back until what it needs has been read."""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlencode

import jinja2
from lkvault.vault import (
    Snapshot,
    SnapshotNotFound,
    latest_snapshot,
    snapshot_day,
    summary_from_document,
)
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from . import present
from .catalog import Page
from .people import person_id
from .source import SnapshotSource

# What a page needs before it can be shown: the snapshot record only (its summary), the
# export's tables but its messages, the messages in their threads, or the message search too.
Needs = Literal["summary", "tables", "conversations", "messages"]
PACKAGE = resources.files(__package__)


def _templates() -> Jinja2Templates:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PACKAGE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(when=present.when, day=present.day, text=present.display_text)
    environment.globals.update(
        count=present.count,
        connections_count=present.connections_count,
        HIDDEN_MEMBER=present.HIDDEN_MEMBER,
        snippet=present.snippet,
        person_id=person_id,
        link_target=present.link_target,
        mail_target=present.mail_target,
    )
    return Jinja2Templates(env=environment)


def int_param(value: str | None, default: int = 1) -> int:
    """A number given in a query or a path; ``default`` for anything else."""
    try:
        return int(value) if value else default
    except ValueError:
        return default


def search_params(request: Request) -> tuple[str, int]:
    """The words searched for (``q``) and the page of results asked for (``page``)."""
    return request.query_params.get("q", ""), int_param(request.query_params.get("page"))


class Renderer:
    """Pages over one SnapshotSource, in the site's frame."""

    def __init__(self, source: SnapshotSource, shown: Snapshot) -> None:
        self.source = source
        self.shown = shown
        self.templates = _templates()

    def snapshot(self, request: Request) -> Snapshot:
        """The snapshot a request's address names, or a 404."""
        try:
            return self.source.by_short_id(request.path_params["snap"])
        except SnapshotNotFound:
            raise HTTPException(404, "No such snapshot in this vault.") from None

    def page(self, request: Request, name: str, snapshot: Snapshot, **context: Any) -> Response:
        """The template ``name`` in the frame of ``snapshot``'s pages."""
        catalog = self.source.loaded(snapshot)  # None only on pages that need the summary
        summary = summary_from_document(snapshot.export)
        base = {
            "snapshot": snapshot,
            "snapshot_date": snapshot_day(snapshot),
            "latest": latest_snapshot(self.source.snapshots),
            "root": root(request, snapshot),
            "base": base_path(request),
            "catalog": catalog,
            "conversations_ready": catalog is not None and catalog.conversations_ready,
            "messages_ready": catalog is not None and catalog.messages_ready,
            "counts": dict(summary.counts) if summary is not None else {},
            "summary_headline": summary.headline if summary is not None else None,
            "section": name,
        }
        return self.templates.TemplateResponse(request, f"{name}.html", {**base, **context})

    def results(
        self, request: Request, name: str, snapshot: Snapshot, query: str, page: Page, **more: Any
    ) -> Response:
        """A page of search results, linking to the other pages of the same search."""
        link = functools.partial(_query_link, request)
        return self.page(request, name, snapshot, query=query, page=page, link=link, **more)

    def not_found(self, request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) else "Not found."
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return self.templates.TemplateResponse(
            request,
            "error.html",
            {"message": detail, "root": root(request, self.shown), "base": base_path(request)},
            status_code=status,
        )

    def reading_messages(self, request: Request, snapshot: Snapshot) -> Response:
        """A page (in the site's frame, so every other page stays a click away) that reloads
        itself until the snapshot's messages have been read."""
        if "/api/" in request.url.path:
            return JSONResponse({"loading": True}, status_code=503, headers={"retry-after": "1"})
        return self.page(request, "reading_messages", snapshot)

    def guarded(
        self, endpoint: Callable[[Request], Response], needs: Needs
    ) -> Callable[[Request], Response]:
        """The endpoint once what it ``needs`` has been read (until then a page saying so),
        with a failure (a damaged snapshot, say) shown as a one-line page."""

        @functools.wraps(endpoint)
        def run(request: Request) -> Response:
            try:
                snapshot = self.snapshot(request)
                self.source.load_in_background(snapshot)  # once; later calls do nothing
                failure = self.source.failure(snapshot)
                if failure is not None:
                    return self._failed(request, failure)
                if needs != "summary" and not self.source.ready(snapshot):
                    return self._loading(request, snapshot)
                if needs in ("conversations", "messages") and not self.source.messages_ready(
                    snapshot, search=needs == "messages"
                ):
                    failure = self.source.messages_failure(snapshot)
                    if failure is not None:
                        return self._failed(request, failure)
                    return self.reading_messages(request, snapshot)
                return endpoint(request)
            except HTTPException:
                raise
            except Exception as exc:  # noqa: BLE001 - a page, never a traceback
                return self._failed(request, " ".join(str(exc).split()) or type(exc).__name__)

        return run

    def _loading(self, request: Request, snapshot: Snapshot) -> Response:
        """A page that reloads itself until the snapshot has been read (or says why not)."""
        if "/api/" in request.url.path:
            return JSONResponse({"loading": True}, status_code=503, headers={"retry-after": "1"})
        return self.templates.TemplateResponse(
            request,
            "loading.html",
            {
                "snapshot": snapshot,
                "day": snapshot_day(snapshot),
                "counts": recorded_counts(snapshot),
                "root": root(request, snapshot),
                "base": base_path(request),
            },
        )

    def _failed(self, request: Request, message: str) -> Response:
        return self.templates.TemplateResponse(
            request,
            "error.html",
            {
                "message": f"This could not be shown: {message}",
                "root": root(request, self.shown),
                "base": base_path(request),
            },
            status_code=500,
        )


def _query_link(request: Request, **changes: Any) -> str:
    params = dict(request.query_params)
    params.update({k: str(v) for k, v in changes.items()})
    params = {k: v for k, v in params.items() if v not in ("", "1") or k != "page"}
    return request.url.path + ("?" + urlencode(params) if params else "")


def base_path(request: Request) -> str:
    """Where the application is mounted: the secret prefix guard.Guard serves it under."""
    return str(request.scope.get("root_path", ""))


def root(request: Request, snapshot: Snapshot) -> str:
    """The address every page of ``snapshot`` lives under."""
    return f"{base_path(request)}/s/{snapshot.short_id}"


def recorded_counts(snapshot: Snapshot) -> dict[str, int]:
    """The counts recorded with a snapshot (none for snapshots older than summaries)."""
    summary = summary_from_document(snapshot.export)
    return dict(summary.counts) if summary is not None else {}

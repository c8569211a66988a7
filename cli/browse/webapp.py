"""The browse application: Starlette routes rendering Jinja2 pages and JSON for live search.

Every page is a function of one snapshot's catalog (``/s/<short id>/...``); the same search
functions answer the HTML pages (which work without scripts) and the JSON endpoints that the
page's script calls while someone types. Templates autoescape everything. Each page says what
it needs (``Needs``): the overview shows the snapshot's recorded summary until the export is
read, and only the pages that show messages wait for them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from typing import Any, Literal
from urllib.parse import quote, urlencode

import jinja2
from lkvault.vault import (
    Snapshot,
    SnapshotNotFound,
    contacts_csv,
    latest_snapshot,
    snapshot_day,
    summary_from_document,
    vcards,
)
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from . import present
from .catalog import CONNECTION_ORDERS, Catalog, ConnectionOrder, Page
from .changes import Changes, changes_since
from .people import person_id
from .source import SnapshotSource
from .textsearch import query_words
from .threads import MessageHit

HISTORY_WAIT = 20.0  # seconds a person or changes page waits for older snapshots to be read
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


def _int(value: str | None, default: int = 1) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


class Browse:
    """Request handlers over one SnapshotSource."""

    def __init__(self, source: SnapshotSource, shown: Snapshot) -> None:
        self.source = source
        self.shown = shown
        self.templates = _templates()

    # --- plumbing ---------------------------------------------------------------------------

    def _snapshot(self, request: Request) -> Snapshot:
        try:
            return self.source.by_short_id(request.path_params["snap"])
        except SnapshotNotFound:
            raise HTTPException(404, "No such snapshot in this vault.") from None

    def _page(self, request: Request, name: str, snapshot: Snapshot, **context: Any) -> Response:
        catalog = self.source.loaded(snapshot)  # None only on pages that need the summary
        summary = summary_from_document(snapshot.export)
        base = {
            "snapshot": snapshot,
            "snapshot_date": snapshot_day(snapshot),
            "latest": latest_snapshot(self.source.snapshots),
            "root": _root(request, snapshot),
            "base": _base(request),
            "catalog": catalog,
            "conversations_ready": catalog is not None and catalog.conversations_ready,
            "messages_ready": catalog is not None and catalog.messages_ready,
            "counts": dict(summary.counts) if summary is not None else {},
            "summary_headline": summary.headline if summary is not None else None,
            "section": name,
        }
        return self.templates.TemplateResponse(request, f"{name}.html", {**base, **context})

    @staticmethod
    def _query_link(request: Request, **changes: Any) -> str:
        params = dict(request.query_params)
        params.update({k: str(v) for k, v in changes.items()})
        params = {k: v for k, v in params.items() if v not in ("", "1") or k != "page"}
        return request.url.path + ("?" + urlencode(params) if params else "")

    @staticmethod
    def _search_params(request: Request) -> tuple[str, int]:
        """The words searched for (``q``) and the page of results asked for (``page``)."""
        return request.query_params.get("q", ""), _int(request.query_params.get("page"))

    def _results(
        self, request: Request, name: str, snapshot: Snapshot, query: str, page: Page, **more: Any
    ) -> Response:
        """A page of search results, linking to the other pages of the same search."""
        link = functools.partial(self._query_link, request)
        return self._page(request, name, snapshot, query=query, page=page, link=link, **more)

    # --- pages ------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return RedirectResponse(f"{_root(request, self.shown)}/", status_code=303)

    def overview(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        if not self.source.ready(snapshot):  # shown from the summary while the export is read
            return self._page(request, "overview", snapshot, changes=None)
        found = self._changes(snapshot, wait=0.5)
        return self._page(request, "overview", snapshot, changes=found)

    def changes_page(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        found = self._changes(snapshot, wait=HISTORY_WAIT)
        return self._page(request, "changes", snapshot, changes=found)

    def _changes(self, snapshot: Snapshot, wait: float) -> Changes | None:
        """What changed since the previous snapshot; None while older ones are still read."""
        catalog = self.source.catalog(snapshot)
        if self.source.previous(snapshot) is None:
            return changes_since(None, catalog)
        people = self.source.people(wait)
        if people is None:
            return None
        return changes_since(people.version_before(snapshot.short_id), catalog)

    def connections(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        query, order, number = self._connection_params(request)
        page = self.source.catalog(snapshot).search_connections(query, order, number)
        return self._results(
            request, "connections", snapshot, query, page, order=order, orders=CONNECTION_ORDERS
        )

    @staticmethod
    def _connection_params(request: Request) -> tuple[str, ConnectionOrder, int]:
        query, number = Browse._search_params(request)
        order = request.query_params.get("sort", "recent")
        if order not in CONNECTION_ORDERS:
            order = "recent"
        return query, order, number  # type: ignore[return-value]

    def person(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        catalog = self.source.catalog(snapshot)
        pid = request.path_params["pid"]
        connection = catalog.connection(pid)
        people = self.source.people(HISTORY_WAIT)
        if connection is None and people is not None and pid in people.keys:
            connection = people.known(people.keys[pid])
        if connection is None:
            raise HTTPException(404, "No such person in this vault.")
        return self._page(
            request,
            "person",
            snapshot,
            person=connection,
            present_here=catalog.connection(pid) is not None,
            events=people.timeline(connection.key) if people is not None else None,
            history_warnings=self.source.history_warnings,
            threads=catalog.threads_with(connection),
            invitations=catalog.invitations_with(connection),
            recommendations=catalog.recommendations_with(connection),
            endorsements=catalog.endorsements_with(connection),
        )

    def conversations(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        query, number = self._search_params(request)
        catalog = self.source.catalog(snapshot)
        if query_words(query) and not catalog.conversation_search_ready:
            return self._reading_messages(request, snapshot)
        page = catalog.search_threads(query, number)
        return self._results(request, "conversations", snapshot, query, page)

    def messages(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        query, number = self._search_params(request)
        page = self.source.catalog(snapshot).search_messages(query, number)
        return self._results(request, "messages", snapshot, query, page)

    def thread(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        catalog = self.source.catalog(snapshot)
        number = _int(request.path_params["number"], -1)
        if not 0 <= number < len(catalog.conversations):
            raise HTTPException(404, "No such conversation in this snapshot.")
        thread = catalog.conversations[number]
        return self._page(request, "thread", snapshot, thread=thread, number=number)

    def profile(self, request: Request) -> Response:
        return self._page(request, "profile", self._snapshot(request))

    def recommendations(self, request: Request) -> Response:
        return self._page(request, "recommendations", self._snapshot(request))

    def invitations(self, request: Request) -> Response:
        return self._page(request, "invitations", self._snapshot(request))

    def snapshots(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        listed = [
            (s, snapshot_day(s), _counts(s), self.source.previous(s))
            for s in reversed(self.source.snapshots)
        ]
        return self._page(request, "snapshots", snapshot, listed=listed)

    # --- downloads --------------------------------------------------------------------------

    def _download_name(self, snapshot: Snapshot, suffix: str) -> str:
        return f"linkedin-contacts-{snapshot_day(snapshot).isoformat()}{suffix}"

    def contacts_vcf(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        body = vcards(self.source.catalog(snapshot).connections)
        return _attachment(
            body.encode(), "text/vcard; charset=utf-8", self._download_name(snapshot, ".vcf")
        )

    def contacts_csv(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        body = contacts_csv(self.source.catalog(snapshot).connections)
        # A byte-order mark makes spreadsheets read the file as UTF-8.
        data = "\ufeff".encode() + body.encode()
        return _attachment(data, "text/csv; charset=utf-8", self._download_name(snapshot, ".csv"))

    def archive(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        # Read whole and checked before the first byte is sent: a damaged archive gives an
        # error page, never a download that looks complete.
        media_type = "application/zip" if snapshot.kind == "zip" else "application/octet-stream"
        return _attachment(self.source.archive(snapshot), media_type, snapshot.source)

    # --- JSON for live search ---------------------------------------------------------------

    def api_connections(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        query, order, number = self._connection_params(request)
        catalog = self.source.catalog(snapshot)
        page = catalog.search_connections(query, order, number)
        root = _root(request, snapshot)
        items = []
        for n in page.items:
            c = catalog.connections[n]
            items.append(
                {
                    "name": present.HIDDEN_MEMBER if c.hidden else c.name or c.url or "",
                    "href": None if c.hidden else f"{root}/people/{person_id(c.key)}",
                    "hidden": c.hidden,
                    "company": c.company or "",
                    "position": c.position or "",
                    "connected": present.day(c.connected_on),
                    "email": c.email or "",
                }
            )
        hidden = catalog.hidden_connections if not query.strip() else 0
        return _page_json(page, present.connections_count(page.total, hidden), items)

    def api_conversations(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        catalog = self.source.catalog(snapshot)
        query, number = self._search_params(request)
        if query_words(query) and not catalog.conversation_search_ready:
            return self._reading_messages(request, snapshot)
        page = catalog.search_threads(query, number)
        root = _root(request, snapshot)
        items = []
        for n in page.items:
            thread = catalog.conversations[n]
            last = thread.messages[-1] if thread.messages else None
            text = present.display_text(last.content) if last else ""
            items.append(
                {
                    "title": catalog.thread_title(thread),
                    "href": f"{root}/conversations/{n}",
                    "when": present.when(thread.last_at),
                    "count": present.count(len(thread.messages), "message"),
                    "snippet": present.snippet(text, "") if last else [],
                    "sender": last.sender if last else "",
                }
            )
        return _page_json(page, present.count(page.total, "conversation"), items)

    def api_messages(self, request: Request) -> Response:
        snapshot = self._snapshot(request)
        catalog = self.source.catalog(snapshot)
        query, number = self._search_params(request)
        page = catalog.search_messages(query, number)
        root = _root(request, snapshot)
        items = [
            self._message_json(catalog, catalog.message_hits[n], root, query) for n in page.items
        ]
        return _page_json(page, present.count(page.total, "message", page.capped), items)

    @staticmethod
    def _message_json(catalog: Catalog, hit: MessageHit, root: str, query: str) -> dict[str, Any]:
        message = catalog.message(hit)
        thread = catalog.conversations[hit.conversation]
        return {
            "title": catalog.thread_title(thread),
            "href": f"{root}/conversations/{hit.conversation}#m{hit.position}",
            "when": present.when(message.sent_at),
            "sender": message.sender,
            "snippet": present.snippet(present.display_text(message.content), query),
        }

    # --- errors -----------------------------------------------------------------------------

    def not_found(self, request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) else "Not found."
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return self.templates.TemplateResponse(
            request,
            "error.html",
            {"message": detail, "root": _root(request, self.shown), "base": _base(request)},
            status_code=status,
        )

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
                "counts": _counts(snapshot),
                "root": _root(request, snapshot),
                "base": _base(request),
            },
        )

    def _failed(self, request: Request, message: str) -> Response:
        return self.templates.TemplateResponse(
            request,
            "error.html",
            {
                "message": f"This could not be shown: {message}",
                "root": _root(request, self.shown),
                "base": _base(request),
            },
            status_code=500,
        )

    def _reading_messages(self, request: Request, snapshot: Snapshot) -> Response:
        """A page (in the site's frame, so every other page stays a click away) that reloads
        itself until the snapshot's messages have been read."""
        if "/api/" in request.url.path:
            return JSONResponse({"loading": True}, status_code=503, headers={"retry-after": "1"})
        return self._page(request, "reading_messages", snapshot)

    def guarded(
        self, endpoint: Callable[[Request], Response], needs: Needs
    ) -> Callable[[Request], Response]:
        """The endpoint once what it ``needs`` has been read (until then a page saying so),
        with a failure (a damaged snapshot, say) shown as a one-line page."""

        @functools.wraps(endpoint)
        def run(request: Request) -> Response:
            try:
                snapshot = self._snapshot(request)
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
                    return self._reading_messages(request, snapshot)
                return endpoint(request)
            except HTTPException:
                raise
            except Exception as exc:  # noqa: BLE001 - a page, never a traceback
                return self._failed(request, " ".join(str(exc).split()) or type(exc).__name__)

        return run


def _base(request: Request) -> str:
    """Where the application is mounted: the secret prefix guard.Guard serves it under."""
    return str(request.scope.get("root_path", ""))


def _root(request: Request, snapshot: Snapshot) -> str:
    """The address every page of ``snapshot`` lives under."""
    return f"{_base(request)}/s/{snapshot.short_id}"


def _counts(snapshot: Snapshot) -> dict[str, int]:
    """The counts recorded with a snapshot (none for snapshots older than summaries)."""
    summary = summary_from_document(snapshot.export)
    return dict(summary.counts) if summary is not None else {}


def _page_json(page: Page, summary: str, items: list[dict[str, Any]]) -> Response:
    return JSONResponse(
        {
            "total": page.total,
            "capped": page.capped,
            "page": page.number,
            "pages": page.pages,
            "first": page.first,
            "last": page.last,
            "summary": summary,
            "items": items,
        }
    )


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


def build_app(source: SnapshotSource, shown: Snapshot) -> Starlette:
    """The application (to be wrapped by guard.Guard before it is served)."""
    handlers = Browse(source, shown)

    def page(path: str, endpoint: Callable[[Request], Response], needs: Needs) -> Route:
        return Route("/s/{snap}" + path, handlers.guarded(endpoint, needs), methods=["GET"])

    routes = [
        Route("/", handlers.home, methods=["GET"]),
        page("/", handlers.overview, "summary"),
        page("/changes", handlers.changes_page, "tables"),
        page("/connections", handlers.connections, "tables"),
        page("/people/{pid}", handlers.person, "tables"),
        page("/conversations", handlers.conversations, "conversations"),
        page("/conversations/{number}", handlers.thread, "conversations"),
        page("/messages", handlers.messages, "messages"),
        page("/profile", handlers.profile, "tables"),
        page("/recommendations", handlers.recommendations, "tables"),
        page("/invitations", handlers.invitations, "tables"),
        page("/snapshots", handlers.snapshots, "summary"),
        page("/download/contacts.vcf", handlers.contacts_vcf, "tables"),
        page("/download/contacts.csv", handlers.contacts_csv, "tables"),
        page("/download/archive", handlers.archive, "summary"),
        page("/api/connections", handlers.api_connections, "tables"),
        page("/api/conversations", handlers.api_conversations, "conversations"),
        page("/api/messages", handlers.api_messages, "messages"),
        Mount("/static", StaticFiles(directory=str(PACKAGE / "static")), name="static"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: handlers.not_found},
    )

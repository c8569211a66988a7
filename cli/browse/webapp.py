"""The browse application: the routes of the Starlette app, each to its page, download or
JSON endpoint.

Every page is a function of one snapshot's catalog (``/s/<short id>/...``); the same search
functions answer the HTML pages (which work without scripts, see ``pages``) and the JSON
endpoints that the page's script calls while someone types (``livesearch``). Templates
autoescape everything (``rendering``). Each page says what it needs (``Needs``): the
overview shows the snapshot's recorded summary until the export is read, and only the pages
that show messages wait for them.
"""

from __future__ import annotations

from collections.abc import Callable

from lkvault.vault import Snapshot
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .downloads import Downloads
from .livesearch import LiveSearch
from .pages import Pages
from .rendering import PACKAGE, Needs, Renderer
from .source import SnapshotSource


def build_app(source: SnapshotSource, shown: Snapshot) -> Starlette:
    """The application (to be wrapped by guard.Guard before it is served)."""
    renderer = Renderer(source, shown)
    pages, downloads, live = Pages(renderer), Downloads(renderer), LiveSearch(renderer)

    def page(path: str, endpoint: Callable[[Request], Response], needs: Needs) -> Route:
        return Route("/s/{snap}" + path, renderer.guarded(endpoint, needs), methods=["GET"])

    routes = [
        Route("/", pages.home, methods=["GET"]),
        page("/", pages.overview, "summary"),
        page("/changes", pages.changes_page, "tables"),
        page("/connections", pages.connections, "tables"),
        page("/people/{pid}", pages.person, "tables"),
        page("/conversations", pages.conversations, "conversations"),
        page("/conversations/{number}", pages.thread, "conversations"),
        page("/messages", pages.messages, "messages"),
        page("/profile", pages.profile, "tables"),
        page("/recommendations", pages.recommendations, "tables"),
        page("/invitations", pages.invitations, "tables"),
        page("/snapshots", pages.snapshots, "summary"),
        page("/download/contacts.vcf", downloads.contacts_vcf, "tables"),
        page("/download/contacts.csv", downloads.contacts_csv, "tables"),
        page("/download/archive", downloads.archive, "summary"),
        page("/api/connections", live.api_connections, "tables"),
        page("/api/conversations", live.api_conversations, "conversations"),
        page("/api/messages", live.api_messages, "messages"),
        Mount("/static", StaticFiles(directory=str(PACKAGE / "static")), name="static"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: renderer.not_found},
    )

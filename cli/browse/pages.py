"""The browse site's HTML pages: overview, changes, connections, people, conversations,
messages, profile and snapshot list, each a function of one snapshot's catalog."""

from __future__ import annotations

from typing import Any

from lkvault.vault import Snapshot, snapshot_day
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .catalog import CONNECTION_ORDERS, ConnectionOrder
from .changes import Changes, changes_since
from .rendering import Renderer, int_param, recorded_counts, root, search_params
from .textsearch import query_words

HISTORY_WAIT = 20.0  # seconds a person or changes page waits for older snapshots to be read


def connection_params(request: Request) -> tuple[str, ConnectionOrder, int]:
    """The connection search asked for: words, order (``sort``) and page."""
    query, number = search_params(request)
    order = request.query_params.get("sort", "recent")
    if order not in CONNECTION_ORDERS:
        order = "recent"
    return query, order, number  # type: ignore[return-value]


class Pages:
    """The HTML pages, rendered in the site's frame."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.source = renderer.source

    async def home(self, request: Request) -> Response:
        return RedirectResponse(f"{root(request, self.renderer.shown)}/", status_code=303)

    def overview(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
        if not self.source.ready(snapshot):  # shown from the summary while the export is read
            return self._page(request, "overview", snapshot, changes=None)
        found = self._changes(snapshot, wait=0.5)
        return self._page(request, "overview", snapshot, changes=found)

    def changes_page(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
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
        snapshot = self.renderer.snapshot(request)
        query, order, number = connection_params(request)
        page = self.source.catalog(snapshot).search_connections(query, order, number)
        return self.renderer.results(
            request, "connections", snapshot, query, page, order=order, orders=CONNECTION_ORDERS
        )

    def person(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
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
        snapshot = self.renderer.snapshot(request)
        query, number = search_params(request)
        catalog = self.source.catalog(snapshot)
        if query_words(query) and not catalog.conversation_search_ready:
            return self.renderer.reading_messages(request, snapshot)
        page = catalog.search_threads(query, number)
        return self.renderer.results(request, "conversations", snapshot, query, page)

    def messages(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
        query, number = search_params(request)
        page = self.source.catalog(snapshot).search_messages(query, number)
        return self.renderer.results(request, "messages", snapshot, query, page)

    def thread(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
        catalog = self.source.catalog(snapshot)
        number = int_param(request.path_params["number"], -1)
        if not 0 <= number < len(catalog.conversations):
            raise HTTPException(404, "No such conversation in this snapshot.")
        thread = catalog.conversations[number]
        return self._page(request, "thread", snapshot, thread=thread, number=number)

    def profile(self, request: Request) -> Response:
        return self._page(request, "profile", self.renderer.snapshot(request))

    def recommendations(self, request: Request) -> Response:
        return self._page(request, "recommendations", self.renderer.snapshot(request))

    def invitations(self, request: Request) -> Response:
        return self._page(request, "invitations", self.renderer.snapshot(request))

    def snapshots(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
        listed = [
            (s, snapshot_day(s), recorded_counts(s), self.source.previous(s))
            for s in reversed(self.source.snapshots)
        ]
        return self._page(request, "snapshots", snapshot, listed=listed)

    def _page(self, request: Request, name: str, snapshot: Snapshot, **context: Any) -> Response:
        return self.renderer.page(request, name, snapshot, **context)

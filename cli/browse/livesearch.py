"""The JSON the browse pages' script asks for while someone types: a page of connections,
conversations or messages, answered by the same searches as the HTML pages."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import present
from .catalog import Catalog, Page
from .pages import connection_params
from .people import person_id
from .rendering import Renderer, root, search_params
from .textsearch import query_words
from .threads import MessageHit


class LiveSearch:
    """The JSON endpoints of live search."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.source = renderer.source

    def api_connections(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
        query, order, number = connection_params(request)
        catalog = self.source.catalog(snapshot)
        page = catalog.search_connections(query, order, number)
        base = root(request, snapshot)
        items = []
        for n in page.items:
            c = catalog.connections[n]
            items.append(
                {
                    "name": present.HIDDEN_MEMBER if c.hidden else c.name or c.url or "",
                    "href": None if c.hidden else f"{base}/people/{person_id(c.key)}",
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
        snapshot = self.renderer.snapshot(request)
        catalog = self.source.catalog(snapshot)
        query, number = search_params(request)
        if query_words(query) and not catalog.conversation_search_ready:
            return self.renderer.reading_messages(request, snapshot)
        page = catalog.search_threads(query, number)
        base = root(request, snapshot)
        items = []
        for n in page.items:
            thread = catalog.conversations[n]
            last = thread.messages[-1] if thread.messages else None
            text = present.display_text(last.content) if last else ""
            items.append(
                {
                    "title": catalog.thread_title(thread),
                    "href": f"{base}/conversations/{n}",
                    "when": present.when(thread.last_at),
                    "count": present.count(len(thread.messages), "message"),
                    "snippet": present.snippet(text, "") if last else [],
                    "sender": last.sender if last else "",
                }
            )
        return _page_json(page, present.count(page.total, "conversation"), items)

    def api_messages(self, request: Request) -> Response:
        snapshot = self.renderer.snapshot(request)
        catalog = self.source.catalog(snapshot)
        query, number = search_params(request)
        page = catalog.search_messages(query, number)
        base = root(request, snapshot)
        items = [_message_json(catalog, catalog.message_hits[n], base, query) for n in page.items]
        return _page_json(page, present.count(page.total, "message", page.capped), items)


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

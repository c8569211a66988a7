"""Which addresses from an export may become a link: absolute http(s) addresses only.

Pure. A profile URL is written by whoever made the export (or by someone who edited it); a
browser page or an address book must never turn ``javascript:``, ``data:``, ``vbscript:`` or a
scheme-relative ``//host`` into something a click follows.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def web_link(url: str | None) -> str | None:
    """``url`` if it may be a link target: an absolute http or https address with a host.
    Anything else (javascript:, data:, vbscript:, //host, a relative path, an address with
    spaces, controls or backslashes that browsers would read differently) is None."""
    if not url or any(c.isspace() or not c.isprintable() or c == "\\" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url

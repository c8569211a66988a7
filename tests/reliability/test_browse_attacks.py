"""lkvault browse against another local user and against hostile exports (issue 22, items 3, 4).

Cookie scope: browsers do not scope cookies by port, so a server another local user runs on
127.0.0.1 must never receive browse's session cookie, and the cookie replayed to another
browse (another port, or a later run on the same port) must open nothing. Checked with real
servers: `lkvault browse` processes, a second HTTP server on another port, and a cookie jar as
browsers keep one (tests/test_browse_e2e.py repeats the visit in headless Chromium).

URL schemes: a profile URL from an export becomes a link only when it is an absolute http(s)
address. Checked on the pages a real browse serves for exportgen's hostile export, and over a
generated list of disguised schemes through the template macro every page uses.
"""

from __future__ import annotations

import html
import http.cookiejar
import itertools
import re
import urllib.request
from datetime import date

import pytest
from lkvault.cli.browse.rendering import _templates

from bench.exportgen import HOSTILE_URLS, generate_export
from tests.helpers_cli import Lk
from tests.test_browse_e2e import (
    CTRL_C_EXIT,
    CookieCatcher,
    Server,
    body,
    get,
    session,
    start,
)

from .budget import pick, record

SCHEMES = ("javascript", "data", "vbscript", "file", "blob", "filesystem", "ftp", "mailto")
PAYLOAD = "alert(document.cookie)//https://www.linkedin.com/in/x"


def disguised_urls() -> list[str]:
    """Dangerous addresses written the ways browsers still read them as dangerous: any case,
    leading spaces and controls, tabs and newlines inside the scheme, no scheme (//host),
    backslashes, and http(s) without a host."""
    urls = [*HOSTILE_URLS, "//evil.example", "\\\\evil.example", "/\\evil.example", "https:"]
    urls += ["https:evil.example", "http:/evil.example", "https:\\\\evil.example", "https://"]
    for scheme in SCHEMES:
        variants = {scheme, scheme.upper(), scheme.title(), scheme[:2].upper() + scheme[2:]}
        for variant, before in itertools.product(sorted(variants), ("", " ", "\t", "\x01")):
            urls.append(f"{before}{variant}:{PAYLOAD}")
        for cut in range(1, len(scheme)):
            for inside in ("\t", "\n", "\r"):
                urls.append(f"{scheme[:cut]}{inside}{scheme[cut:]}:{PAYLOAD}")
    return urls[: pick(60, len(urls))]


def test_no_disguised_scheme_becomes_a_link() -> None:
    external_link = _templates().env.get_template("macros.html").module.external_link
    urls = disguised_urls()
    for url in urls:
        shown = str(external_link(url, url))
        assert "<a " not in shown, f"{url!r} became a link: {shown}"
    for url in ("https://www.linkedin.com/in/ada", "http://example.com/a?b=<c>"):
        shown = str(external_link(url, url))
        assert shown.startswith(f'<a href="{html.escape(url)}" rel="noopener noreferrer"')
    record("url-schemes", urls=len(urls) + 2)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Lk:
    """A vault holding exportgen's hostile export (dangerous profile URLs, escapes)."""
    root = tmp_path_factory.mktemp("browse-hostile")
    lk = Lk(root / "vault", root / "state")
    lk.init()
    path = generate_export(
        root / "Basic_LinkedInDataExport_02-15-2026.zip", date=date(2026, 2, 15), scale=0.02,
        quirks=("hostile",),
    )  # fmt: skip
    lk.snapshot(path)
    return lk


def test_only_http_and_https_addresses_become_links_on_the_pages(hostile: Lk) -> None:
    running = start(hostile)
    try:
        cookie = session(running)
        overview = get(running, running.base + "/", cookie=cookie).getheader("location") or ""
        found = body(get(running, f"{overview}connections?q=attacker", cookie=cookie)).decode()
        people = sorted(set(re.findall(r'href="([^"]*/people/[^"]+)"', found)))
        assert len(people) == len(HOSTILE_URLS)
        for person in people:
            page = body(get(running, html.unescape(person), cookie=cookie)).decode()
            targets = [html.unescape(t) for t in re.findall(r'(?:href|src|action)="([^"]*)"', page)]
            for target in targets:
                inside = target.startswith((running.base + "/", "#"))
                outside = re.match(r"https?://[^/\\\s]", target) or target.startswith("mailto:")
                assert inside or outside, f"{person}: a link to {target!r}"
            shown = [u for u in HOSTILE_URLS if html.escape(u.strip()) in page]
            assert shown, f"{person}: the profile address is not shown as text"
    finally:
        code, err = running.stop()
    assert code == CTRL_C_EXIT, err
    record("url-schemes", pages=len(people))


def test_the_cookie_never_reaches_another_port_and_is_refused_elsewhere(hostile: Lk) -> None:
    first = start(hostile)
    second: Server | None = None
    replays = 0
    try:
        with CookieCatcher() as catcher:
            # A cookie jar as browsers keep one (Python's: RFC 6265 paths, no port scoping).
            jar = http.cookiejar.CookieJar()
            browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            with browser.open(first.url) as page:
                assert page.status == 200
            assert [c.name for c in jar] == [f"lkvault-{first.port}"]
            paths = ["/", "/s/", "/static/app.js", "/s/latest/people/x"]
            paths += [f"/{'a' * n}/" for n in range(pick(1, 30))]
            for path in paths:
                browser.open(f"http://127.0.0.1:{catcher.port}{path}").read()
            assert catcher.lkvault_cookies() == [], "another local port received the cookie"
        # Replayed where it was not minted, the cookie opens nothing.
        (minted,) = jar
        cookie, first.base = f"{minted.name}={minted.value}", minted.path
        assert get(first, first.base + "/", cookie=cookie).status == 303
        for run in range(pick(1, 4)):
            second = start(hostile)
            other = session(second)
            forged = f"lkvault-{second.port}={cookie.split('=', 1)[1]}"
            for server, target, sent in (
                (second, second.base + "/", forged),  # renamed for the other port
                (second, first.base + "/", cookie),  # under the path it was minted for
                (first, first.base + "/", other),  # the other run's cookie here
                (first, second.base + "/", other),
                (first, "/", cookie),  # its own server, outside its path
            ):
                assert get(server, target, cookie=sent).status == 403, (run, target)
                replays += 1
            second.stop()
            second = None
        # A later run on the same port: the old cookie (same name) is refused everywhere.
        old_base, port = first.base, first.port
        code, err = first.stop()
        assert code == CTRL_C_EXIT, err
        first = start(hostile, "--port", str(port))
        fresh = session(first)
        assert get(first, old_base + "/", cookie=cookie).status == 403
        assert get(first, first.base + "/", cookie=cookie).status == 403
        assert get(first, first.base + "/", cookie=fresh).status == 303
        replays += 2
    finally:
        for running in (first, second):
            if running is not None:
                running.stop()
    record("cookie-scope", ports_probed=len(paths), replays_refused=replays)

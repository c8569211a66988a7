"""lkvault browse end to end: the real command serving a real vault on 127.0.0.1, checked over
HTTP and in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium; the browser tests are skipped, saying why, when Chromium cannot start).

The vault holds two exports made here: between them Ada Lovelace changes jobs, Grace Hopper
connects, and a recruiter sends a message holding <script> and <img onerror> markup. The
browser run saves screenshots of the main views to docs/screenshots/ (shown in the README).
"""

from __future__ import annotations

import csv
import http.client
import http.cookiejar
import http.server
import io
import json
import os
import re
import select
import signal
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import vobject

from tests.helpers_cli import Lk, assert_clean_stderr, assert_one_line_error

# Where test_in_chromium saves its screenshots: a temporary folder, unless
# scripts/screenshots.sh names docs/screenshots to refresh the tracked ones on purpose.
SCREENSHOTS_DIR = "LKVAULT_SCREENSHOTS_DIR"
CHROMIUM = Path("/usr/bin/chromium")
CTRL_C_EXIT = 128 + signal.SIGINT  # browse stopped by Ctrl-C exits as every command does
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PREAMBLE = (
    'Notes:\n"When exporting your connection data, you may notice that some of the email '
    'addresses are missing."\n\n'
)
ADA = "https://www.linkedin.com/in/ada-lovelace-1815"
GRACE = "https://www.linkedin.com/in/grace-hopper-1906"
RECRUITER = "https://www.linkedin.com/in/rita-recruiter"
ME = "https://www.linkedin.com/in/jamie-doe"
HOSTILE = "<script>window.__pwned = 1; document.title = 'pwned'</script>"
HOSTILE_IMG = '<img src=x onerror="window.__pwned = 2">'
FIRST_NAMES = ["Noah", "Mia", "Liam", "Ava", "Lucas", "Elena", "Kwame", "Aiko", "Omar", "Sofia"]
LAST_NAMES = ["Berg", "Rossi", "Okafor", "Tanaka", "Haddad", "Novak", "Silva", "Kim", "Dubois"]
COMPANIES = ["Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises"]


def _csv(header: list[str], rows: list[list[str]], prefix: str = "") -> str:
    out = io.StringIO()
    out.write(prefix)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _filler_connections() -> list[list[str]]:
    rows = []
    for n in range(90):
        first, last = FIRST_NAMES[n % 10], LAST_NAMES[n % 9]
        rows.append(
            [
                first,
                last,
                f"https://www.linkedin.com/in/{first}-{last}-{n}".lower(),
                "",
                COMPANIES[n % 6],
                f"Engineer {n}",
                f"{1 + n % 28:02d} Jun 2023",
            ]
        )
    return rows


def make_export(path: Path, month: int) -> bytes:
    """A 2025-era Basic export of 2025-0{month}-15; month 2 adds Grace, a job change, news."""
    ada_job = ["Analytical Engines Ltd", "Chief Mathematician"]
    if month >= 2:
        ada_job = ["Difference Labs", "Head of Research"]
    connections = [
        ["Ada", "Lovelace", ADA, "ada@example.com", *ada_job, "14 Nov 2024"],
        [
            "Rita",
            "Recruiter",
            RECRUITER,
            "",
            "Talent Partners",
            "Technical Recruiter",
            "02 Oct 2024",
        ],
        [
            "Mallory",
            HOSTILE_IMG,
            "https://www.linkedin.com/in/mallory",
            "",
            "Evil Corp <b>bold</b>",
            "Chief <i>Hacker</i>",
            "01 Sep 2024",
        ],
        *_filler_connections(),
    ]
    if month >= 2:
        connections.insert(
            0, ["Grace", "Hopper", GRACE, "", "US Navy", "Rear Admiral", "10 Feb 2025"]
        )
    header = [
        "CONVERSATION ID",
        "CONVERSATION TITLE",
        "FROM",
        "SENDER PROFILE URL",
        "TO",
        "RECIPIENT PROFILE URLS",
        "DATE",
        "SUBJECT",
        "CONTENT",
        "FOLDER",
        "ATTACHMENTS",
    ]
    messages = [
        [
            "2-ada",
            "",
            "Ada Lovelace",
            ADA,
            "Jamie Doe",
            ME,
            "2025-01-03 10:00:00 UTC",
            "",
            "Shall we talk about the Analytical Engine?<br>Tea on Friday?",
            "INBOX",
            "",
        ],
        [
            "2-ada",
            "",
            "Jamie Doe",
            ME,
            "Ada Lovelace",
            ADA,
            "2025-01-03 11:30:00 UTC",
            "",
            "Friday works. Bring the notes &amp; the punched cards.",
            "INBOX",
            "",
        ],
        [
            "2-rita",
            "",
            "Rita Recruiter",
            RECRUITER,
            "Jamie Doe",
            ME,
            "2025-01-08 09:15:00 UTC",
            "A role at Talent Partners",
            f"Hi Jamie,\nA senior role in March, fully remote. {HOSTILE} {HOSTILE_IMG}\nRita",
            "INBOX",
            "",
        ],
    ]
    if month >= 2:
        messages.append(
            [
                "2-grace",
                "",
                "Grace Hopper",
                GRACE,
                "Jamie Doe",
                ME,
                "2025-02-11 08:00:00 UTC",
                "",
                "Found a moth in the relay. Coffee?",
                "INBOX",
                "",
            ]
        )
    profile = _csv(
        [
            "First Name",
            "Last Name",
            "Maiden Name",
            "Address",
            "Birth Date",
            "Headline",
            "Summary",
            "Industry",
            "Zip Code",
            "Geo Location",
            "Twitter Handles",
            "Websites",
            "Instant Messengers",
        ],
        [
            [
                "Jamie",
                "Doe",
                "",
                "",
                "",
                "Platform engineer",
                "I build reliable systems.",
                "Software",
                "",
                "Lisbon, Portugal",
                "",
                "",
                "",
            ]
        ],
    )
    recommendations = _csv(
        ["First Name", "Last Name", "Company", "Job Title", "Text", "Creation Date", "Status"],
        [
            [
                "Ada",
                "Lovelace",
                "Analytical Engines Ltd",
                "Chief Mathematician",
                "Jamie wrote the first reliable scheduler for our engine.",
                "12/1/24, 9:00 AM",
                "VISIBLE",
            ]
        ],
    )
    invitations = _csv(
        ["From", "To", "Sent At", "Message", "Direction", "inviterProfileUrl", "inviteeProfileUrl"],
        [["Grace Hopper", "Jamie Doe", "2/9/25, 4:00 PM", "Let's connect!", "INCOMING", GRACE, ME]]
        if month >= 2
        else [],
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "Connections.csv",
            _csv(
                [
                    "First Name",
                    "Last Name",
                    "URL",
                    "Email Address",
                    "Company",
                    "Position",
                    "Connected On",
                ],
                connections,
                PREAMBLE,
            ),
        )
        archive.writestr("messages.csv", _csv(header, messages))
        archive.writestr("Profile.csv", profile)
        archive.writestr("Recommendations_Received.csv", recommendations)
        archive.writestr("Invitations.csv", invitations)
    return path.read_bytes()


@dataclass
class Vault:
    lk: Lk
    ids: list[str]
    newest_zip: bytes


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Vault:
    root = tmp_path_factory.mktemp("browse")
    lk = Lk(root / "vault", root / "state")
    lk.init()
    ids, data = [], b""
    for month in (1, 2):
        path = root / f"Basic_LinkedInDataExport_0{month}-15-2025.zip"
        data = make_export(path, month)
        ids.append(lk.snapshot(path))
    return Vault(lk, ids, data)


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str  # as printed, with the token
    port: int
    base: str = ""  # the secret path the application is served under, once session() learnt it

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a person stops it; returns the exit code (130, as every command stopped
        by Ctrl-C) and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=60)  # only a guard: it stops well before
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("lkvault browse did not stop on Ctrl-C") from None
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


def start(lk: Lk, *args: str) -> Server:
    process = lk.start("browse", "--no-open", *args)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 120)
    line = process.stdout.readline().strip() if ready else ""
    if not line:
        process.kill()
        process.wait()
        raise AssertionError(f"lkvault browse printed no address: {process.stderr.read()}")  # type: ignore[union-attr]
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=[A-Za-z0-9_-]{40,}", line)
    assert match, f"unexpected first line: {line!r}"
    return Server(process, line, int(match.group(1)))


@pytest.fixture
def server(stored: Vault) -> Iterator[Server]:
    running = start(stored.lk)
    yield running
    code, err = running.stop()
    assert code == CTRL_C_EXIT, err
    assert_clean_stderr(err)
    assert err.strip() == "Stopped; nothing was written to disk."


def get(
    server: Server, target: str, cookie: str | None = None, host: str | None = None
) -> http.client.HTTPResponse:
    """GET ``target``; while the snapshot is still being read ("reading…" page, or 503 for
    the search API), ask again, as the page itself does."""
    for _attempt in range(600):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        headers = {"Host": host or f"127.0.0.1:{server.port}"}
        if cookie:
            headers["Cookie"] = cookie
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        response.read_body = response.read()  # type: ignore[attr-defined]
        connection.close()
        if response.status != 503 and b"data-loading" not in body(response):
            return response
        time.sleep(0.1)
    raise AssertionError(f"{target} still says the snapshot is being read")


def session(server: Server) -> str:
    """Trade the printed address's token for the session cookie, as a browser does; the
    cookie is scoped to the secret path the browser is sent to (``server.base``)."""
    response = get(server, server.url.removeprefix(f"http://127.0.0.1:{server.port}"))
    location = response.getheader("location") or ""
    assert response.status == 303 and re.fullmatch(r"/[A-Za-z0-9_-]{24,}/", location), location
    server.base = location.rstrip("/")
    cookie = response.getheader("set-cookie") or ""
    expected = rf"lkvault-{server.port}=[^;]+; Path={server.base}; HttpOnly; SameSite=Strict"
    assert re.fullmatch(expected, cookie), cookie
    return cookie.split(";")[0]


def body(response: http.client.HTTPResponse) -> bytes:
    return response.read_body  # type: ignore[attr-defined,no-any-return]


def assert_private(response: http.client.HTTPResponse) -> None:
    assert response.getheader("cache-control") == "no-store"
    policy = response.getheader("content-security-policy") or ""
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.getheader("x-content-type-options") == "nosniff"


# --- over HTTP ------------------------------------------------------------------------------


def test_the_token_is_required_and_works_once(server: Server) -> None:
    refused = get(server, "/")
    assert refused.status == 403 and b"token" in body(refused)
    assert_private(refused)
    wrong = get(server, "/?token=" + "A" * 43)
    assert wrong.status == 403
    cookie = session(server)
    again = get(server, server.url.removeprefix(f"http://127.0.0.1:{server.port}"))
    assert again.status == 403, "a used token must not open a second session"
    page = get(server, server.base + "/", cookie=cookie)
    assert page.status == 303
    overview = get(server, page.getheader("location") or "", cookie=cookie)
    assert overview.status == 200 and b"Jamie Doe" in body(overview)
    assert_private(overview)
    assert get(server, server.base + "/s/", cookie="lkvault-1=forged").status == 403
    # Outside its path the cookie opens nothing, and the path without the cookie neither.
    assert get(server, "/", cookie=cookie).status == 403
    assert get(server, "/s/", cookie=cookie).status == 403
    assert get(server, server.base + "/").status == 403


def test_a_foreign_host_header_is_refused(server: Server) -> None:
    cookie = session(server)
    for host in ("attacker.example", f"attacker.example:{server.port}", "127.0.0.1:1"):
        refused = get(server, "/", cookie=cookie, host=host)
        assert refused.status == 403, host
        assert_private(refused)
    assert (
        get(server, server.base + "/", cookie=cookie, host=f"localhost:{server.port}").status == 303
    )


def test_every_response_is_private_and_downloads_are_right(server: Server, stored: Vault) -> None:
    cookie = session(server)
    root = f"{server.base}/s/{stored.ids[-1][:8]}"
    for target in (
        f"{server.base}/static/app.js",
        f"{server.base}/static/app.css",
        f"{root}/api/connections?q=ada",
        f"{root}/download/archive",
        f"{root}/nowhere",
    ):
        response = get(server, target, cookie=cookie)
        assert_private(response)
    archive = get(server, f"{root}/download/archive", cookie=cookie)
    assert archive.status == 200, body(archive)[-600:]
    assert body(archive) == stored.newest_zip
    assert "Basic_LinkedInDataExport_02-15-2025.zip" in (
        archive.getheader("content-disposition") or ""
    )
    table = get(server, f"{root}/download/contacts.csv", cookie=cookie)
    rows = list(csv.DictReader(io.StringIO(body(table).decode("utf-8-sig"))))
    ada = next(r for r in rows if r["Last Name"] == "Lovelace")
    assert ada["Organization Name"] == "Difference Labs" and ada["E-mail 1 - Value"] == (
        "ada@example.com"
    )
    found = json.loads(
        body(get(server, f"{root}/api/connections?q=difference+labs", cookie=cookie))
    )
    assert [item["name"] for item in found["items"]] == ["Ada Lovelace"]
    hits = json.loads(body(get(server, f"{root}/api/messages?q=moth", cookie=cookie)))
    assert hits["total"] == 1 and hits["items"][0]["sender"] == "Grace Hopper"


def test_an_older_snapshot_by_date_and_bad_input(stored: Vault) -> None:
    older = start(stored.lk, "--at", "2025-01-31")
    try:
        cookie = session(older)
        location = get(older, older.base + "/", cookie=cookie).getheader("location")
        assert location == f"{older.base}/s/{stored.ids[0][:8]}/"
        page = body(get(older, f"{location}connections?q=ada", cookie=cookie)).decode()
        assert "Analytical Engines Ltd" in page and "Difference Labs" not in page
    finally:
        code, err = older.stop()
    assert code == CTRL_C_EXIT and "Traceback" not in err


def test_bad_input_is_a_one_line_error(cli: Any, tmp_path: Path) -> None:
    assert cli("init").code == 0
    path = tmp_path / "Basic_LinkedInDataExport_01-15-2025.zip"
    make_export(path, 1)
    assert cli("snapshot", str(path)).code == 0
    for args, expected in (
        (["--at", "2024-12-31"], "no snapshot on or before 2024-12-31"),
        (["--at", "last week"], "YYYY-MM-DD"),
        (["ffffffff"], "no snapshot id starts with"),
        (["latest", "--at", "2025-01-31"], "either SNAPSHOT or --at"),
        (["--port", "70000"], "--port"),
    ):
        result = cli("browse", "--no-open", *args)
        assert result.code == 2 and result.out == "", (args, result.err)
        assert expected in assert_one_line_error(result.err)


def test_a_busy_port_is_a_clear_error(stored: Vault, server: Server) -> None:
    code, out, err = stored.lk.run("browse", "--no-open", "--port", str(server.port))
    assert code == 2 and out == ""
    assert f"port {server.port} is already in use" in assert_one_line_error(err)


def test_json_prints_one_line_with_the_address(stored: Vault) -> None:
    process = stored.lk.start("browse", "--no-open", "--json")
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 120)
    document = json.loads(process.stdout.readline()) if ready else {}
    running = Server(process, document.get("url", ""), 0)
    code, err = running.stop()  # kills it if it does not stop
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=\S+", document.get("url", ""))
    assert document["snapshot"]["id"] == stored.ids[-1]
    assert code == CTRL_C_EXIT and err.strip() == "Stopped; nothing was written to disk.", err


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_once_after_the_address_stops_it_cleanly(
    stored: Vault, how: signal.Signals
) -> None:
    """Ctrl-C (or SIGTERM from a service manager) the moment the address is printed, while
    the server is still starting and the snapshot still being read, stops it: exit 130 (or
    143) as every command, the one 'Stopped' line, and nothing left serving."""
    for _round in range(3):
        running = start(stored.lk)
        running.process.send_signal(how)
        # Only a guard: it stops at once. Waiting first keeps stop()'s own Ctrl-C out.
        running.process.wait(timeout=60)
        code, err = running.stop()
        assert code == 128 + how, (how, err)
        assert err.strip() == "Stopped; nothing was written to disk.", err


class CookieCatcher:
    """Another local user's web server on another 127.0.0.1 port: it answers every GET and
    keeps the Cookie headers browsers send it. Stopped by the ``with`` block that started it."""

    def __init__(self) -> None:
        self.cookies: list[str] = []
        catcher = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                catcher.cookies.extend(self.headers.get_all("Cookie") or [])
                data = b"<!doctype html><title>elsewhere</title><h1>elsewhere</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CookieCatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def lkvault_cookies(self) -> list[str]:
        return [c for c in self.cookies if "lkvault" in c]


# --- in Chromium ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("Chromium is not installed (scripts/install-test-tools.sh installs it)")
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,860",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    except WebDriverException as exc:
        pytest.skip(f"Chromium does not start here: {exc.msg}")
    yield driver
    driver.quit()


def test_in_chromium_another_local_port_never_gets_the_cookie(browser: Any, server: Server) -> None:
    """The attack of issue 22: after browse is opened, the browser is sent to another local
    port (a page there, or a link); that server must not receive the session cookie."""
    from selenium.webdriver.common.by import By

    driver = browser
    with CookieCatcher() as catcher:
        driver.get(server.url)
        wait_for(driver, lambda d: "Jamie Doe" in d.find_element(By.TAG_NAME, "h1").text)
        inside = driver.current_url
        scoped = [c for c in driver.get_cookies() if c["name"] == f"lkvault-{server.port}"]
        assert len(scoped) == 1 and scoped[0]["path"] != "/" and scoped[0]["httpOnly"]
        for path in ("/", "/s/", "/static/app.js"):
            driver.get(f"http://127.0.0.1:{catcher.port}{path}")
            wait_for(driver, lambda d: d.title == "elsewhere")
        # and a page of browse's own sending the browser there, as a link in an export would
        driver.get(inside)
        wait_for(driver, lambda d: "Jamie Doe" in d.find_element(By.TAG_NAME, "h1").text)
        driver.execute_script(f"window.location = 'http://127.0.0.1:{catcher.port}/s/';")
        wait_for(driver, lambda d: d.title == "elsewhere")
    assert catcher.lkvault_cookies() == [], "Chromium sent the browse cookie to another port"


def wait_for(driver: Any, condition: Any, timeout: float = 180) -> Any:
    """``condition`` once it holds; the page re-renders results as the messages load, so an
    element found a moment ago may be replaced (stale) while the condition is checked. The
    timeout only guards against a hang: on a loaded machine a search may take many seconds."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (StaleElementReferenceException,)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(condition)


def text_once(driver: Any, selector: str, part: str) -> str:
    """The text of the element ``selector`` once it holds ``part``, read inside the wait: a
    page still loading may replace the element between finding it and reading it."""
    from selenium.webdriver.common.by import By

    def holding(d: Any) -> str | None:
        text: str = d.find_element(By.CSS_SELECTOR, selector).text
        return text if part in text else None

    found: str = wait_for(driver, holding)
    return found


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[Any, str], None]:
    """Save a screenshot of the page (see SCREENSHOTS_DIR)."""
    folder = Path(os.environ.get(SCREENSHOTS_DIR) or tmp_path / "screenshots")

    def save(driver: Any, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(folder / f"{name}.png"))

    return save


def test_in_chromium(
    browser: Any, server: Server, stored: Vault, shoot: Callable[[Any, str], None]
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(server.url)
    wait_for(driver, lambda d: "Jamie Doe" in d.find_element(By.TAG_NAME, "h1").text)
    assert "/s/" in driver.current_url
    assert "token=" not in driver.current_url  # the token leaves the address bar
    shoot(driver, "overview")

    # Live search: typing finds a known connection without a page load.
    driver.find_element(By.LINK_TEXT, "Connections").click()
    box = wait_for(driver, lambda d: d.find_element(By.NAME, "q"))
    box.send_keys("difference")
    wait_for(
        driver,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "form.live").get_attribute("data-state") == "done"
        ),
    )
    rows = driver.find_elements(By.CSS_SELECTOR, "[data-results] tr")
    assert [r.find_element(By.TAG_NAME, "a").text for r in rows] == ["Ada Lovelace"]
    assert "difference" in driver.current_url
    box.clear()
    box.send_keys("evil corp")
    wait_for(driver, lambda d: "Mallory" in d.find_element(By.CSS_SELECTOR, "[data-results]").text)
    results = driver.find_element(By.CSS_SELECTOR, "[data-results]")
    assert "<b>bold</b>" in results.text and HOSTILE_IMG in results.text
    assert results.find_elements(By.TAG_NAME, "img") == []
    box.clear()
    box.send_keys("engineer")
    wait_for(
        driver, lambda d: "90 connections" in d.find_element(By.CSS_SELECTOR, "[data-summary]").text
    )
    shoot(driver, "connections")

    # A person's page: the job change between the two snapshots, and the conversation.
    box.clear()
    box.send_keys("ada")
    wait_for(driver, lambda d: d.find_elements(By.LINK_TEXT, "Ada Lovelace"))
    driver.find_element(By.LINK_TEXT, "Ada Lovelace").click()
    timeline = text_once(driver, "ol.timeline", "Job change")
    assert "Job change: Chief Mathematician at Analytical Engines Ltd" in timeline
    assert "Head of Research at Difference Labs" in timeline
    assert "2024-11-14" in timeline  # connected on
    shoot(driver, "person")

    # Message search, then the thread with the hostile message shown as text.
    driver.find_element(By.LINK_TEXT, "Search messages").click()
    box = wait_for(driver, lambda d: d.find_element(By.NAME, "q"))
    box.send_keys("remote")
    wait_for(
        driver, lambda d: "1 message" in d.find_element(By.CSS_SELECTOR, "[data-summary]").text
    )
    assert driver.find_elements(By.CSS_SELECTOR, "[data-results] mark")[0].text == "remote"
    shoot(driver, "messages")
    driver.find_element(By.CSS_SELECTOR, "[data-results] a").click()
    text = text_once(driver, ".message .text", HOSTILE)
    assert HOSTILE in text and HOSTILE_IMG in text
    assert driver.execute_script("return window.__pwned === undefined")
    assert driver.title != "pwned"
    assert driver.find_elements(By.CSS_SELECTOR, ".thread script, .thread img") == []
    shoot(driver, "thread")

    # The contacts download, fetched by the page itself, parses as vCard.
    driver.find_element(By.LINK_TEXT, "Overview").click()
    link = wait_for(driver, lambda d: d.find_element(By.PARTIAL_LINK_TEXT, "vCard"))
    vcf = driver.execute_async_script(
        "const done = arguments[1];"
        "fetch(arguments[0]).then(r => r.text()).then(done, e => done('error: ' + e));",
        link.get_attribute("href"),
    )
    cards = list(vobject.readComponents(vcf))
    by_name = {card.fn.value: card for card in cards}
    assert len(cards) == 94
    assert by_name["Ada Lovelace"].email.value == "ada@example.com"
    assert by_name["Ada Lovelace"].org.value == ["Difference Labs"]
    assert by_name["Grace Hopper"].url.value == GRACE

    driver.find_element(By.CSS_SELECTOR, "a.snapshot-picker").click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "table.snapshots tbody tr"))
    assert len(driver.find_elements(By.CSS_SELECTOR, "table.snapshots tbody tr")) == 2
    shoot(driver, "snapshots")
    logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert logs == [], logs

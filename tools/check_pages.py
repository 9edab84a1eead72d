"""Render every page of the built book in headless Chromium and report what a reader sees broken.

Usage: python tools/check_pages.py [HTML_DIR] [--screenshots DIR] [--chromium PATH]

HTML_DIR defaults to _build/html, which `make book` writes. The pages checked
are every .html file in HTML_DIR and its subfolders, except:

- Sphinx's generated pages (search.html, genindex.html, py-modindex.html),
  which list the book's content and show no notebook output;
- files in folders whose names start with "_" (_static, _sources, _images),
  which hold theme assets and sources, not pages;
- redirect pages (a `<meta http-equiv="Refresh">`, like the index.html that
  Jupyter Book writes), whose target must exist but which are not rendered.

A local HTTP server on 127.0.0.1, started and stopped by this script, serves
HTML_DIR and adds a small probe script to each page. Chromium loads the page
with every host name except 127.0.0.1 mapped to "not found", so the scripts
that pages load from CDNs (require.js, the ipywidgets manager, MathJax) fail
at once instead of hanging. Chromium's own background requests to Google
services fail the same way, so it connects to no host but 127.0.0.1. After
the page's load event the probe records each image's naturalWidth in the DOM,
which Chromium then dumps (--dump-dom, under a virtual time budget).

The dumped DOM fails the check when it contains:

- an <img> that failed to load (naturalWidth 0) or was still loading;
- a widget that needs a kernel or JavaScript to show anything: a
  `<script type="application/vnd.jupyter.widget-view+json">` output, a
  "Loading widget..." placeholder, an empty widget container, or a widget's
  text fallback such as "HBox(children=...)";
- a stderr or error output block (myst-nb's `output stderr` and
  `output traceback` classes), traceback text, ANSI escape codes, or
  TensorFlow, absl, oneDNN and CUDA log lines;
- a request to the local server for a file that does not exist.

Text in collapsed (hidden) cells counts too, because a reader can expand it.

Exit status:

- 0 when every page passes;
- 1 when a page has a problem, with one line per problem on stdout
  ("PAGE: PROBLEM: ELEMENT") and a summary line;
- 2 when the check cannot run (no built book, no Chromium), with the reason
  and the fix on stderr.

When no Chromium binary is on PATH and --chromium is not given, the script
installs the Debian package `chromium` with apt-get, through sudo when not
run as root. It downloads browsers from nowhere else.
"""

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

# beautifulsoup4 comes with the book extra, because pydata-sphinx-theme (the
# base of Jupyter Book 1's page theme) depends on it.
from bs4 import BeautifulSoup
from bs4.element import PreformattedString

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HTML_DIR = ROOT / "_build" / "html"

GENERATED_PAGES = {"search.html", "genindex.html", "py-modindex.html"}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_PACKAGE = "chromium"

# Chromium pauses virtual time while fetches are pending and otherwise runs
# timers faster than real time. With this budget a page of this book took
# about 2 s of real time (Chromium 150, two busy CPU cores).
DEFAULT_BUDGET_MS = 10_000
# Wall-clock limit for one Chromium run. A page that takes longer is reported.
DEFAULT_TIMEOUT_S = 60
# Virtual time the probe waits after the load event, so that scripts started
# by the load event (the theme's, a widget manager) can change the DOM first.
PROBE_SETTLE_MS = 1_000
# Chromium's screenshots are limited to the window, so the window is made as
# tall as the page, up to this height in CSS pixels.
MAX_SCREENSHOT_HEIGHT = 16_000
WINDOW_WIDTH = 1280
DEFAULT_WINDOW_HEIGHT = 1024
# Maximum length, in characters, of the element snippet in a problem line.
MAX_SNIPPET_CHARS = 100

PROBE_ID = "check-pages-probe"
NATURAL_WIDTH_ATTRIBUTE = "data-check-pages-natural-width"
COMPLETE_ATTRIBUTE = "data-check-pages-complete"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"

# Added right after <head>, so it runs before the page's own scripts. It makes
# lazy images load with the page, and once the page has loaded it writes each
# image's naturalWidth and `complete` flag into attributes and appends a JSON
# script element that marks the page as checked.
PROBE_SCRIPT = """<script>
(function () {
  "use strict";
  function eagerImages() {
    document.querySelectorAll("img[loading=lazy]").forEach(function (img) {
      img.loading = "eager";
    });
  }
  function record() {
    var images = Array.prototype.slice.call(document.images);
    images.forEach(function (img) {
      img.setAttribute("%(width)s", String(img.naturalWidth));
      img.setAttribute("%(complete)s", String(img.complete));
    });
    var probe = document.createElement("script");
    probe.type = "application/json";
    probe.id = "%(probe)s";
    probe.textContent = JSON.stringify({
      images: images.length,
      scrollHeight: document.documentElement.scrollHeight
    });
    document.body.appendChild(probe);
  }
  document.addEventListener("DOMContentLoaded", eagerImages);
  window.addEventListener("load", function () { setTimeout(record, %(settle)d); });
})();
</script>
""" % {"width": NATURAL_WIDTH_ATTRIBUTE, "complete": COMPLETE_ATTRIBUTE, "probe": PROBE_ID,
       "settle": PROBE_SETTLE_MS}

# Text that no page of the book should show, with the name printed for it.
NOISE_PATTERNS = [
    ("traceback", re.compile(r"Traceback \(most recent call last\)")),
    ("ANSI escape code", re.compile(r"(?:\x1b|\\x1b|\\033|\\u001b|\^\[)\[[0-9;]*[A-Za-z]")),
    ("TensorFlow log line", re.compile(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w./-]+:\d+\]")),
    ("absl log line", re.compile(r"\b[IWEF]\d{4} \d\d:\d\d:\d+(?:\.\d+)?\s+\d+\s+[\w./-]+:\d+\]")),
    ("absl log line", re.compile(r"All log messages before absl::InitializeLog\(\) is called")),
    ("oneDNN log line", re.compile(r"oneDNN custom operations are on")),
    ("CUDA log line", re.compile(r"failed call to cuInit|Unable to register cu(?:DNN|FFT|BLAS) factory")),
    ("TensorFlow log line", re.compile(
        r"This TensorFlow binary is optimized to use available CPU instructions|TF-TRT Warning")),
    ("Python warning", re.compile(r"\S+\.py:\d+: \w*Warning: ")),
]
# SGR codes whose escape character was dropped, like "[0;31m"; searched for
# only in code blocks, where prose with such brackets is unlikely.
BARE_SGR = re.compile(r"(?<![\w\[\]\x1b])\[(?:\d{1,3};)*\d{1,3}m")
WIDGET_PLACEHOLDER = re.compile(r"Loading widget\.\.\.|Loading widgets\.\.\.")
# The text/plain repr of an ipywidgets box or progress bar, shown when a
# notebook stores no widget view.
WIDGET_TEXT_FALLBACK = re.compile(
    r"\b(?:HBox|VBox|Box|GridBox|Tab|Accordion)\(children=\(|\b(?:Float|Int)Progress\(value=")
WIDGET_CONTAINER_CLASSES = {"jupyter-widgets", "widget-area", "widget-subarea", "jupyter-widgets-view"}
VISIBLE_MEDIA_TAGS = ["img", "svg", "canvas", "video", "iframe", "table"]
HIDDEN_TEXT_TAGS = ["script", "style", "template", "noscript"]
CELL_INPUT_CLASS = "cell_input"
BLOCK_TAGS = ["address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
              "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
              "header", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
              "td", "th", "tr", "ul"]


class SetupError(Exception):
    """The check cannot run: no built book or no Chromium."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong on a page: what is wrong and the element that shows it."""

    what: str
    element: str


# ---------------------------------------------------------------------------
# Finding the pages
# ---------------------------------------------------------------------------

REDIRECT_TARGET = re.compile(
    r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']\s*\d+\s*;\s*url=([^"'>]+)["']""",
    re.IGNORECASE)


def redirect_target(html):
    """Return the URL that a `<meta http-equiv="Refresh">` page sends readers to, or None."""
    match = REDIRECT_TARGET.search(html)
    return match.group(1).strip() if match else None


def find_pages(html_dir):
    """Return the pages to render in ``html_dir`` and the problems found without rendering.

    Pages are paths relative to ``html_dir``, sorted. Generated pages, folders
    starting with "_" and redirect pages are left out, as the module docstring
    lists. A redirect whose target file is missing is a problem.
    """
    pages = []
    problems = {}
    for path in sorted(html_dir.rglob("*.html")):
        relative = path.relative_to(html_dir)
        if any(part.startswith("_") for part in relative.parts[:-1]):
            continue
        if relative.name in GENERATED_PAGES and len(relative.parts) == 1:
            continue
        target = redirect_target(path.read_text(errors="replace"))
        if target is None:
            pages.append(relative)
            continue
        target_path = urlsplit(target).path
        if urlsplit(target).netloc or not (path.parent / unquote(target_path)).is_file():
            problems[relative] = [Problem("redirect to a missing page", target)]
    return pages, problems


# ---------------------------------------------------------------------------
# Checking a rendered page
# ---------------------------------------------------------------------------

CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def snippet(text):
    """Return ``text`` on one line, cut to MAX_SNIPPET_CHARS, with control characters as \\xNN."""
    line = " ".join(text.split())
    # An escape character printed as is would colour the terminal, not show the code.
    line = CONTROL_CHARACTER.sub(lambda match: f"\\x{ord(match.group()):02x}", line)
    if len(line) > MAX_SNIPPET_CHARS:
        line = line[:MAX_SNIPPET_CHARS - 3] + "..."
    return line


def image_snippet(img):
    """Return an ``<img src="...">`` snippet for ``img``, with a data: URI shortened."""
    source = img.get("src", "")
    if source.startswith("data:"):
        source = source[:30] + "..."
    return f'<img src="{source}">'


def check_images(soup, probe_ran):
    """Return a problem for each <img> that the probe found not loaded."""
    problems = []
    for img in soup.find_all("img"):
        width = img.get(NATURAL_WIDTH_ATTRIBUTE)
        if width is None:
            # Without the probe result no image was measured, and check_dom reports that once.
            if probe_ran:
                problems.append(Problem("image added after the probe ran, not checked",
                                        image_snippet(img)))
            continue
        # Chromium 150 gives an SVG without a size of its own naturalWidth 150, not 0.
        if width != "0":
            continue
        if img.get(COMPLETE_ATTRIBUTE) == "false":
            problems.append(Problem("image still loading when the page was checked",
                                    image_snippet(img)))
        else:
            problems.append(Problem("missing image", image_snippet(img)))
    return problems


def has_visible_content(element):
    """Return whether ``element`` shows text or media without running any script."""
    if element.find(VISIBLE_MEDIA_TAGS):
        return True
    return bool(visible_text(element).strip())


def visible_text(element, skip_cell_inputs=False):
    """Return the text of ``element`` outside script, style, template and noscript elements.

    Text in different block elements is separated by a newline, so that two
    adjacent blocks never read as one line. With ``skip_cell_inputs`` the
    source code of notebook cells (myst-nb's `cell_input` class) is left out.
    """
    parts = []
    previous_block = None
    for text in element.find_all(string=True):
        if isinstance(text, PreformattedString) or text.find_parent(HIDDEN_TEXT_TAGS) is not None:
            continue
        if skip_cell_inputs and text.find_parent(class_=CELL_INPUT_CLASS) is not None:
            continue
        block = text.find_parent(BLOCK_TAGS)
        if parts and block is not previous_block:
            parts.append("\n")
        parts.append(str(text))
        previous_block = block
    return "".join(parts)


def check_widgets(soup):
    """Return a problem for each widget that shows an empty box or a placeholder without a kernel."""
    problems = []
    for script in soup.find_all("script", type=WIDGET_VIEW_MIME):
        problems.append(Problem("widget output, empty without a kernel",
                                f'<script type="{WIDGET_VIEW_MIME}">{snippet(script.get_text())}'))

    for element in soup.find_all(class_=lambda name: name in WIDGET_CONTAINER_CLASSES):
        if not has_visible_content(element):
            classes = " ".join(element.get("class", []))
            problems.append(Problem("empty widget box", f'<{element.name} class="{classes}">'))

    text = visible_text(soup.body or soup, skip_cell_inputs=True)
    for match in WIDGET_PLACEHOLDER.finditer(text):
        problems.append(Problem("widget placeholder", match.group(0)))
    for match in WIDGET_TEXT_FALLBACK.finditer(text):
        problems.append(Problem("widget shown as its text fallback", line_around(text, match)))
    return problems


def line_around(text, match):
    """Return the line of ``text`` that contains ``match``, as a snippet."""
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return snippet(text[start:end if end != -1 else len(text)])


def check_output_text(soup):
    """Return a problem for each stderr or error output block and each line of traceback or log noise.

    The source code of notebook cells is not searched: code may print an
    escape sequence or quote a log line on purpose.
    """
    problems = []
    for kind, what in (("stderr", "stderr output block"), ("traceback", "error output block")):
        for block in soup.select(f".output.{kind}"):
            first_line = next((line for line in visible_text(block).splitlines() if line.strip()), "")
            problems.append(Problem(what, snippet(first_line)))

    text = visible_text(soup.body or soup, skip_cell_inputs=True)
    for what, pattern in NOISE_PATTERNS:
        for match in pattern.finditer(text):
            problems.append(Problem(what, line_around(text, match)))
    for block in soup.find_all("pre"):
        block_text = visible_text(block, skip_cell_inputs=True)
        for match in BARE_SGR.finditer(block_text):
            problems.append(Problem("ANSI escape code without its escape character",
                                    line_around(block_text, match)))
    return problems


def check_dom(html):
    """Return the problems in ``html``, the DOM of a page that Chromium rendered with the probe.

    Each problem appears once, in page order within each kind of check.
    """
    soup = BeautifulSoup(html, "html.parser")
    probe_ran = soup.find("script", id=PROBE_ID) is not None
    problems = []
    if not probe_ran:
        problems.append(Problem("page did not finish loading, images not checked",
                                "no result from the in-page probe"))
    problems += check_images(soup, probe_ran)
    problems += check_widgets(soup)
    problems += check_output_text(soup)
    return list(dict.fromkeys(problems))


def page_height(html):
    """Return the page height in CSS pixels that the probe recorded in ``html``, or None."""
    soup = BeautifulSoup(html, "html.parser")
    probe = soup.find("script", id=PROBE_ID)
    if probe is None:
        return None
    try:
        return int(json.loads(probe.get_text())["scrollHeight"])
    except (ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------------------
# Chromium
# ---------------------------------------------------------------------------

def find_chromium():
    """Return the path of the first Chromium or Chrome binary on PATH, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def install_chromium():
    """Install the Debian package chromium with apt-get and return the binary's path.

    Runs apt-get through sudo when not root (non-interactively unless stdin is
    a terminal). Retries once after `apt-get update` because stale package
    lists name versions that the archive has dropped. Raises SetupError, saying
    what to install, when apt-get is missing or fails.
    """
    manual = (f"Install the Debian package {CHROMIUM_PACKAGE} (apt-get install {CHROMIUM_PACKAGE}) "
              "or another Chromium or Chrome and run again, or pass --chromium PATH.")
    if shutil.which("apt-get") is None:
        raise SetupError(f"Chromium not found on PATH and apt-get is not available. {manual}")
    prefix = []
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo is None:
            raise SetupError(f"Chromium not found on PATH, and installing it needs root but sudo "
                             f"is not available. {manual}")
        prefix = [sudo] if sys.stdin.isatty() else [sudo, "-n"]

    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = prefix + ["apt-get", "install", "-y", CHROMIUM_PACKAGE]
    update = prefix + ["apt-get", "update"]
    print(f"Chromium not found on PATH. Installing the Debian package {CHROMIUM_PACKAGE} "
          f"with apt-get (an estimated minute or more)", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = None
    for commands in ([install], [update, install]):
        for command in commands:
            result = subprocess.run(command, env=environment, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if result.returncode != 0:
                break
        if result.returncode == 0:
            break
    if result.returncode != 0:
        last_lines = " | ".join(result.stdout.strip().splitlines()[-3:])
        raise SetupError(f"installing Chromium failed: `{' '.join(result.args)}` exited with "
                         f"status {result.returncode} ({last_lines}). The package registry may "
                         f"be unreachable. {manual}")

    path = find_chromium()
    if path is None:
        raise SetupError(f"apt-get installed {CHROMIUM_PACKAGE} but no Chromium binary is on PATH. "
                         f"{manual}")
    print(f"Installed {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return path


def chromium_command(chromium, profile_dir, budget_ms):
    """Return the Chromium command line, without the URL, that loads pages from 127.0.0.1 only."""
    command = [
        chromium, "--headless", "--disable-gpu", "--disable-dev-shm-usage",
        f"--user-data-dir={profile_dir}",
        "--no-first-run", "--no-default-browser-check", "--disable-sync",
        "--disable-background-networking", "--disable-component-update",
        "--disable-domain-reliability", "--disable-extensions",
        # Every host name except 127.0.0.1 fails to resolve without a DNS
        # query, so CDN scripts fail at once and Chromium connects to no other host.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--virtual-time-budget={budget_ms}",
    ]
    # Chromium's sandbox cannot run as root.
    if os.geteuid() == 0:
        command.append("--no-sandbox")
    return command


def run_chromium(command, timeout_s):
    """Run ``command``; return its stdout, or raise RuntimeError with the reason it failed."""
    try:
        result = subprocess.run(command, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Chromium timed out after {timeout_s} s") from None
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"Chromium exited with status {result.returncode}: {snippet(last_line)}")
    return result.stdout


# ---------------------------------------------------------------------------
# The local server
# ---------------------------------------------------------------------------

class ProbingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the book's folder, adds the probe to .html pages and records files not found."""

    def do_GET(self):
        path = self.translate_path(self.path)
        if path.endswith(".html") and os.path.isfile(path):
            self.send_probed_page(path)
        else:
            super().do_GET()

    def send_probed_page(self, path):
        html = Path(path).read_text(errors="replace")
        head = re.search(r"<head[^>]*>", html, re.IGNORECASE)
        position = head.end() if head else 0
        body = (html[:position] + PROBE_SCRIPT + html[position:]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):
        # Chromium requests /favicon.ico from every site, and a book need not have one.
        if code == 404 and urlsplit(self.path).path != "/favicon.ico":
            self.server.not_found.append(urlsplit(self.path).path)
        super().send_error(code, message, explain)

    def log_message(self, format, *args):
        pass


class PageServer(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 at a free port that serves ``html_dir`` with the probe added."""

    def __init__(self, html_dir):
        handler = functools.partial(ProbingHandler, directory=str(html_dir))
        super().__init__(("127.0.0.1", 0), handler)
        self.not_found = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.shutdown()
        self.server_close()
        self.thread.join()


# ---------------------------------------------------------------------------
# Checking the book
# ---------------------------------------------------------------------------

def missing_files(not_found, url, problems):
    """Return a problem for each path in ``not_found`` that no missing image already explains."""
    reported = set()
    for problem in problems:
        if problem.what == "missing image":
            source = problem.element[len('<img src="'):-len('">')]
            reported.add(urlsplit(urljoin(url, source)).path)
    return [Problem("local file not found", path)
            for path in dict.fromkeys(not_found) if path not in reported]


def check_page(server, page, command, timeout_s, screenshot=None):
    """Render ``page`` (relative to the served folder) and return its problems.

    Saves a screenshot as tall as the page to ``screenshot`` when given.
    """
    url = server.base_url + page.as_posix()
    server.not_found.clear()
    try:
        html = run_chromium(command + [f"--window-size={WINDOW_WIDTH},{DEFAULT_WINDOW_HEIGHT}",
                                       "--dump-dom", url], timeout_s)
    except RuntimeError as error:
        return [Problem("page not rendered", str(error))]
    problems = check_dom(html)
    problems += missing_files(server.not_found, url, problems)

    if screenshot is not None:
        height = min(page_height(html) or DEFAULT_WINDOW_HEIGHT, MAX_SCREENSHOT_HEIGHT)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        try:
            run_chromium(command + [f"--window-size={WINDOW_WIDTH},{height}",
                                    f"--screenshot={screenshot}", url], timeout_s)
        except RuntimeError as error:
            problems.append(Problem("screenshot failed", str(error)))
    return problems


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Render every page of the built book in headless Chromium and report missing "
                    "images, empty widget boxes, tracebacks and log noise.")
    parser.add_argument("html_dir", nargs="?", type=Path, default=DEFAULT_HTML_DIR,
                        help="the built HTML book (default: _build/html)")
    parser.add_argument("--screenshots", type=Path, metavar="DIR",
                        help="save one PNG screenshot per page in DIR")
    parser.add_argument("--chromium", metavar="PATH",
                        help="Chromium or Chrome binary to use (default: the first of "
                             f"{', '.join(CHROMIUM_NAMES)} on PATH, installed with apt-get if none)")
    parser.add_argument("--budget-ms", type=int, default=DEFAULT_BUDGET_MS,
                        help="virtual time in milliseconds that each page's scripts may run "
                             f"(default: {DEFAULT_BUDGET_MS})")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds of real time per Chromium run (default: {DEFAULT_TIMEOUT_S})")
    return parser.parse_args(argv)


def resolve_chromium(requested):
    """Return the Chromium binary to use: ``requested``, one on PATH, or a freshly installed one."""
    if requested is None:
        return find_chromium() or install_chromium()
    path = shutil.which(requested)
    if path is None:
        raise SetupError(f"--chromium {requested}: no such executable. Pass the path of a "
                         "Chromium or Chrome binary.")
    return path


def plural(count, noun):
    """Return ``count`` and ``noun``, with an "s" unless ``count`` is 1."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def check_book(args):
    """Check every page of ``args.html_dir``; return the exit status."""
    html_dir = args.html_dir.resolve()
    if not html_dir.is_dir():
        raise SetupError(f"{args.html_dir}: no such folder. Build the book first with `make book`.")
    pages, problems = find_pages(html_dir)
    if not pages:
        raise SetupError(f"{args.html_dir}: no HTML pages found. Build the book first with "
                         "`make book`.")
    chromium = resolve_chromium(args.chromium)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="check-pages-") as profile_dir, \
            PageServer(html_dir) as server:
        command = chromium_command(chromium, profile_dir, args.budget_ms)
        for page in pages:
            screenshot = None
            if args.screenshots is not None:
                screenshot = (args.screenshots / page).with_suffix(".png").resolve()
            problems[page] = check_page(server, page, command, args.timeout, screenshot)

    for page in sorted(problems):
        for problem in problems[page]:
            print(f"{page.as_posix()}: {problem.what}: {problem.element}")
    total = sum(len(found) for found in problems.values())
    failed_pages = sum(1 for found in problems.values() if found)
    seconds = time.perf_counter() - started
    if total:
        print(f"{plural(total, 'problem')} on {failed_pages} of {plural(len(problems), 'page')} "
              f"({seconds:.0f} s)")
        return 1
    print(f"{plural(len(problems), 'page')} checked, no problems ({seconds:.0f} s)")
    return 0


def main(argv=None):
    args = parse_args(argv)
    try:
        return check_book(args)
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

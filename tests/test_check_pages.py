"""tools/check_pages.py must report missing images, empty widgets and tracebacks on rendered pages.

The DOM checks run on hand-written snippets of what Chromium dumps after the
probe ran. One test renders a small hand-written book in the real Chromium and
skips when no Chromium is installed.
"""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tool_modules import ROOT, load_tool


check_pages = load_tool("check_pages")
Problem = check_pages.Problem

PROBE_RESULT = '<script type="application/json" id="check-pages-probe">{"images": 1, "scrollHeight": 900}</script>'


def rendered(body, probe=True):
    """Return a page as Chromium dumps it, with ``body`` and, unless ``probe`` is false, the probe's result."""
    return (f"<html><head><title>t</title></head><body>{body}"
            f"{PROBE_RESULT if probe else ''}</body></html>")


def measured_img(src, width, complete="true"):
    return (f'<img src="{src}" data-check-pages-natural-width="{width}" '
            f'data-check-pages-complete="{complete}">')


def png_bytes(width=8, height=4):
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# DOM checks on snippets
# ---------------------------------------------------------------------------

CLEAN_BODY = """
<h1>Training</h1>
<p>The discriminator's error is reported as an error rate; see Figure 1.</p>
<div class="cell docutils container"><div class="cell_output docutils container">
  <div class="output stream highlight-myst-ansi notranslate"><div class="highlight">
    <pre><span></span>25 epochs in 5.9 min
mean D(x) [0.52, 0.50]</pre></div></div>
  %s
  %s
</div></div>
<script>var message = "Traceback (most recent call last)";</script>
<script type="application/vnd.jupyter.widget-state+json">{"state": {}}</script>
""" % (measured_img("../_images/loss.png", 640),
       measured_img("data:image/png;base64,iVBORw0KGgo=", 1))


def test_clean_page_has_no_problems():
    assert check_pages.check_dom(rendered(CLEAN_BODY)) == []


def test_broken_image_reported():
    page = rendered(measured_img("../_images/loss.png", 640) + measured_img("../_images/gone.png", 0))

    assert check_pages.check_dom(page) == [
        Problem("missing image", '<img src="../_images/gone.png">')]


def test_broken_data_uri_image_shortened():
    source = "data:image/png;base64," + "A" * 500
    problems = check_pages.check_dom(rendered(measured_img(source, 0)))

    assert problems == [Problem("missing image", '<img src="data:image/png;base64,AAAAAAAA...">')]


def test_image_still_loading_reported():
    page = rendered(measured_img("../_images/slow.png", 0, complete="false"))

    assert check_pages.check_dom(page) == [
        Problem("image still loading when the page was checked", '<img src="../_images/slow.png">')]


def test_image_added_after_probe_reported():
    page = rendered('<img src="../_images/late.png">')

    assert check_pages.check_dom(page) == [
        Problem("image added after the probe ran, not checked", '<img src="../_images/late.png">')]


def test_missing_probe_reported_once():
    page = rendered('<img src="a.png"><img src="b.png"><p>text</p>', probe=False)

    assert check_pages.check_dom(page) == [
        Problem("page did not finish loading, images not checked", "no result from the in-page probe")]


def test_widget_view_script_reported():
    # What myst-nb writes for a tqdm.auto progress bar's widget-view output.
    body = ('<div class="cell_output docutils container">'
            '<script type="application/vnd.jupyter.widget-view+json">'
            '{"version_major": 2, "version_minor": 0, "model_id": "5f2a9c"}</script></div>')

    problems = check_pages.check_dom(rendered(body))

    assert problems == [Problem(
        "widget output, empty without a kernel",
        '<script type="application/vnd.jupyter.widget-view+json">'
        '{"version_major": 2, "version_minor": 0, "model_id": "5f2a9c"}')]


def test_widget_placeholder_reported():
    problems = check_pages.check_dom(rendered('<div class="cell_output"><p>Loading widget...</p></div>'))

    assert problems == [Problem("widget placeholder", "Loading widget...")]


def test_empty_widget_box_reported():
    body = ('<div class="widget-subarea"><div class="jupyter-widgets"></div></div>'
            '<div class="jupyter-widgets"><img src="x.png" data-check-pages-natural-width="4"></div>')

    problems = check_pages.check_dom(rendered(body))

    assert problems == [
        Problem("empty widget box", '<div class="widget-subarea">'),
        Problem("empty widget box", '<div class="jupyter-widgets">'),
    ]


def test_widget_text_fallback_reported():
    body = ("<pre>HBox(children=(HTML(value=''), FloatProgress(value=0.0, max=25.0), "
            "HTML(value='')))</pre>")

    problems = check_pages.check_dom(rendered(body))

    # Two matches on one line make one problem.
    assert len(problems) == 1
    assert problems[0].what == "widget shown as its text fallback"
    assert problems[0].element.startswith("HBox(children=(HTML(value=''), FloatProgress(")


TRACEBACK_BLOCK = """
<div class="cell_output docutils container">
<div class="output traceback highlight-ipythontb notranslate"><div class="highlight"><pre><span></span>
---------------------------------------------------------------------------
RuntimeError                              Traceback (most recent call last)
Cell In[3], line 1
----&gt; 1 raise RuntimeError("deliberate failure")

RuntimeError: deliberate failure
</pre></div></div></div>
"""


def test_traceback_block_reported():
    problems = check_pages.check_dom(rendered(TRACEBACK_BLOCK))

    assert problems == [
        Problem("error output block", "---------------------------------------------------------------------------"),
        Problem("traceback", "RuntimeError Traceback (most recent call last)"),
    ]


def test_stderr_block_reported():
    body = ('<div class="output stderr highlight-myst-ansi notranslate"><div class="highlight">'
            '<pre>\nWARNING: something went to stderr\n</pre></div></div>')

    problems = check_pages.check_dom(rendered(body))

    assert problems == [Problem("stderr output block", "WARNING: something went to stderr")]


@pytest.mark.parametrize("line, what", [
    ("2026-01-05 10:11:12.345678: I tensorflow/core/util/port.cc:153] oneDNN custom operations "
     "are on. You may see slightly different numerical results.", "TensorFlow log line"),
    ("I0000 00:00:1767600000.123456   4242 cpu_feature_guard.cc:210] This TensorFlow binary is "
     "optimized", "absl log line"),
    ("E0000 00:00:1767600000.654321   4242 cuda_executor.cc:1309] INTERNAL: CUDA error",
     "absl log line"),
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
     "absl log line"),
    ("oneDNN custom operations are on.", "oneDNN log line"),
    ("failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
     "CUDA log line"),
    ("/work/eyegan/training.py:88: UserWarning: The structure of `inputs` doesn't match",
     "Python warning"),
])
def test_log_noise_reported(line, what):
    problems = check_pages.check_dom(rendered(f'<div class="cell_output"><pre>{line}</pre></div>'))

    assert Problem(what, check_pages.snippet(line)) in problems


def test_log_noise_names_each_line():
    body = "<pre>step 1\nI0000 00:00:1767600000.1   7 a.cc:1] first\nI0000 00:00:1767600000.2   7 b.cc:2] second</pre>"

    problems = check_pages.check_dom(rendered(body))

    assert problems == [
        Problem("absl log line", "I0000 00:00:1767600000.1 7 a.cc:1] first"),
        Problem("absl log line", "I0000 00:00:1767600000.2 7 b.cc:2] second"),
    ]


def test_ansi_escape_codes_reported():
    body = "<pre>\x1b[0;31mRuntimeError\x1b[0m</pre><pre>[1;32mEpoch 1/25[0m</pre>"

    problems = check_pages.check_dom(rendered(body))

    assert problems == [
        Problem("ANSI escape code", "\\x1b[0;31mRuntimeError\\x1b[0m"),
        Problem("ANSI escape code without its escape character", "[1;32mEpoch 1/25[0m"),
    ]


def test_cell_source_not_searched():
    # What myst-nb writes for a code cell: its source in cell_input, its output in cell_output.
    body = """
<div class="cell docutils container">
<div class="cell_input docutils container"><div class="highlight-ipython3 notranslate">
<div class="highlight"><pre>print("\\x1b[1;32mgreen\\x1b[0m")
print("Traceback (most recent call last)")
print("[0;31m")</pre></div></div></div>
<div class="cell_output docutils container"><div class="output stream highlight-myst-ansi notranslate">
<div class="highlight"><pre><span class="-Color -Color-Bold -Color-Bold-Green">green</span>
Traceback (most recent call last)
</pre></div></div></div></div>
"""

    problems = check_pages.check_dom(rendered(body))

    assert problems == [Problem("traceback", "Traceback (most recent call last)")]


def test_bracketed_numbers_in_prose_not_reported():
    assert check_pages.check_dom(rendered("<p>Cite [12m] as a length, or see [3].</p>")) == []


# ---------------------------------------------------------------------------
# Finding pages, missing files and setup errors
# ---------------------------------------------------------------------------

def write_files(root, files):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def test_find_pages_skips_generated_pages(tmp_path):
    write_files(tmp_path, {
        "index.html": '<meta http-equiv="Refresh" content="0; url=book/intro.html" />',
        "old.html": '<meta http-equiv="refresh" content="0; url=book/moved.html">',
        "search.html": "<html></html>",
        "genindex.html": "<html></html>",
        "_static/widget.html": "<html></html>",
        "book/intro.html": "<html></html>",
        "book/search.html": "<html></html>",
        "book/data.html": "<html></html>",
    })

    pages, problems = check_pages.find_pages(tmp_path)

    assert pages == [Path("book/data.html"), Path("book/intro.html"), Path("book/search.html")]
    assert problems == {Path("old.html"): [Problem("redirect to a missing page", "book/moved.html")]}


def test_missing_files_skips_reported_images():
    problems = [Problem("missing image", '<img src="../_images/gone.png">')]
    not_found = ["/_images/gone.png", "/_static/theme.css", "/_static/theme.css"]

    found = check_pages.missing_files(not_found, "http://127.0.0.1:8000/book/a.html", problems)

    assert found == [Problem("local file not found", "/_static/theme.css")]


def test_missing_folder_names_make_book(tmp_path, capsys):
    status = check_pages.main([str(tmp_path / "_build" / "html")])

    error = capsys.readouterr().err
    assert status == 2
    assert f"{tmp_path / '_build' / 'html'}: no such folder" in error
    assert "make book" in error


def test_folder_without_pages_names_make_book(tmp_path, capsys):
    write_files(tmp_path, {"_static/theme.css": "", "search.html": "<html></html>"})

    status = check_pages.main([str(tmp_path)])

    error = capsys.readouterr().err
    assert status == 2
    assert f"{tmp_path}: no HTML pages found" in error
    assert "make book" in error


def test_install_without_apt_says_what_to_install(monkeypatch):
    monkeypatch.setattr(check_pages.shutil, "which", lambda name: None)

    with pytest.raises(check_pages.SetupError, match="apt-get is not available") as error:
        check_pages.install_chromium()
    assert "apt-get install chromium" in str(error.value)
    assert "--chromium PATH" in str(error.value)


def test_install_without_root_or_sudo_rejected(monkeypatch):
    monkeypatch.setattr(check_pages.shutil, "which",
                        lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    monkeypatch.setattr(check_pages.os, "geteuid", lambda: 1000)

    with pytest.raises(check_pages.SetupError, match="needs root but sudo is not available") as error:
        check_pages.install_chromium()
    assert "apt-get install chromium" in str(error.value)


def test_install_failure_says_what_to_install(monkeypatch):
    # apt-get present but the package registry unreachable: every run fails.
    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(
            command, 100, stdout="Err:1 http://deb.debian.org/debian bookworm InRelease\n"
                                 "E: Unable to locate package chromium\n")

    monkeypatch.setattr(check_pages.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(check_pages.os, "geteuid", lambda: 0)
    monkeypatch.setattr(check_pages.subprocess, "run", fake_run)

    with pytest.raises(check_pages.SetupError) as error:
        check_pages.install_chromium()

    message = str(error.value)
    assert commands == [["apt-get", "install", "-y", "chromium"], ["apt-get", "update"]]
    assert "`apt-get update` exited with status 100" in message
    assert "E: Unable to locate package chromium" in message
    assert "package registry may be unreachable" in message
    assert "apt-get install chromium" in message


def test_unknown_chromium_path_rejected(tmp_path):
    with pytest.raises(check_pages.SetupError, match="no such executable"):
        check_pages.resolve_chromium(str(tmp_path / "no-chromium"))


# ---------------------------------------------------------------------------
# End to end, in the real Chromium
# ---------------------------------------------------------------------------

def page(title, body, head=""):
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>'
            f'<link rel="stylesheet" href="../_static/book.css">{head}</head>'
            f"<body><h1>{title}</h1>{body}</body></html>")


def tiny_book(root):
    """Write a three-page book: a clean page, one with a broken image, one with a widget and a traceback."""
    # A remote script in the reserved .invalid domain, like the require.js and
    # MathJax that pages load from CDNs. The check must neither wait for it nor reach it.
    cdn_script = '<script src="https://cdn.example.invalid/require.min.js"></script>'
    # A lazy image below a tall block must count as loaded. The probe makes lazy
    # images eager, though headless Chromium 150 loads this one without that.
    lazy_image = '<div style="height: 6000px"></div><img src="../_images/lazy.png" loading="lazy">'
    write_files(root, {
        "index.html": '<meta http-equiv="Refresh" content="0; url=book/clean.html" />',
        "search.html": page("Search", '<img src="_images/not-checked.png">'),
        "_static/book.css": "body { font-family: sans-serif; }",
        "_images/plot.png": png_bytes(),
        "_images/lazy.png": png_bytes(16, 2),
        "book/clean.html": page(
            "Clean", '<p>A plot:</p><img src="../_images/plot.png"><pre>25 epochs</pre>' + lazy_image,
            head=cdn_script),
        "book/broken.html": page(
            "Broken", '<img src="../_images/plot.png"><img src="../_images/missing.png">'
                      '<script src="../_static/missing.js"></script>'),
        "book/widget.html": page(
            "Widget", '<div class="cell_output"><script type="application/vnd.jupyter.widget-view+json">'
                      '{"model_id": "abc"}</script></div>' + TRACEBACK_BLOCK,
            head=cdn_script),
    })


chromium = check_pages.find_chromium()
needs_chromium = pytest.mark.skipif(
    chromium is None, reason="no Chromium on PATH (install the Debian package chromium to run this test)")


@needs_chromium
def test_tiny_book_end_to_end(tmp_path):
    html_dir = tmp_path / "html"
    screenshots = tmp_path / "screenshots"
    tiny_book(html_dir)

    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_pages.py"), str(html_dir),
         "--screenshots", str(screenshots), "--timeout", "60"],
        text=True, capture_output=True, timeout=300)

    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert lines[:-1] == [
        'book/broken.html: missing image: <img src="../_images/missing.png">',
        "book/broken.html: local file not found: /_static/missing.js",
        "book/widget.html: widget output, empty without a kernel: "
        '<script type="application/vnd.jupyter.widget-view+json">{"model_id": "abc"}',
        "book/widget.html: error output block: "
        "---------------------------------------------------------------------------",
        "book/widget.html: traceback: RuntimeError Traceback (most recent call last)",
    ]
    assert lines[-1].startswith("5 problems on 2 of 3 pages (")
    for name in ("broken", "clean", "widget"):
        screenshot = screenshots / "book" / f"{name}.png"
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The clean page has a 6000 px block, so its screenshot is taller than the window.
    assert Image.open(screenshots / "book" / "clean.png").height > 6000


@needs_chromium
def test_clean_book_passes(tmp_path):
    html_dir = tmp_path / "html"
    tiny_book(html_dir)
    (html_dir / "book" / "broken.html").unlink()
    (html_dir / "book" / "widget.html").unlink()

    result = subprocess.run([sys.executable, str(ROOT / "tools" / "check_pages.py"), str(html_dir)],
                            text=True, capture_output=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("1 page checked, no problems (")

"""Chapter pages must link to Colab and to the repository that _config.yml names.

The book is built once per module, from the outputs stored in the chapters,
with the same warnings-as-errors options as ``make book``: a few seconds.
"""

import subprocess
from html.parser import HTMLParser
from urllib.parse import urlparse

import nbformat
import pytest
import yaml

from tool_modules import ROOT, load_tool

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


build_book = load_tool("build_book")


class PageParser(HTMLParser):
    """Collects the href of every link and the page's text, tags removed."""

    def __init__(self):
        super().__init__()
        self.links = []
        self.text_parts = []

    def handle_starttag(self, tag, attrs):
        if tag == "a" and dict(attrs).get("href"):
            self.links.append(dict(attrs)["href"])

    def handle_data(self, data):
        self.text_parts.append(data)


def parse_page(path):
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.links, "".join(parser.text_parts)


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def git_checker():
    """Return the git ref to check and a function that tests whether a path exists there.

    The ref is the configured branch, or origin's copy of it. A clone without
    either, such as a shallow CI checkout of another branch, checks the files
    tracked in the index instead. Outside a git checkout the calling test skips.
    """
    try:
        inside = git("rev-parse", "--is-inside-work-tree")
    except FileNotFoundError:
        pytest.skip("git is not installed")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        pytest.skip(f"{ROOT} is not a git checkout")

    branch = CONFIG["repository"]["branch"]
    for ref in (branch, f"origin/{branch}"):
        if git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0:
            return ref, lambda path: git("cat-file", "-e", f"{ref}:{path}").returncode == 0
    return "the index", lambda path: git("ls-files", "--error-unmatch", "--", path).returncode == 0


@pytest.fixture(scope="module")
def html_dir(tmp_path_factory):
    output = tmp_path_factory.mktemp("book")
    build = build_book.build_unexecuted(ROOT, output)
    assert build.returncode == 0, f"book build failed or warned:\n{build.stdout[-5000:]}"
    return output / "_build" / "html"


@pytest.fixture(scope="module")
def chapter_pages(html_dir):
    """Map each built page whose source is a notebook to that notebook's path."""
    pages = {}
    for page in sorted(html_dir.rglob("*.html")):
        source = page.relative_to(html_dir).with_suffix(".ipynb")
        if not source.parts[0].startswith("_") and (ROOT / source).is_file():
            pages[page] = source
    return pages


def colab_links(page):
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    links, _ = parse_page(page)
    return [link for link in links if link.startswith(colab + "/")]


def test_config_names_public_repository():
    repository = CONFIG["repository"]
    assert repository["url"] == "https://github.com/eyegan/eyegan"
    assert repository["branch"] == "main"
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["html"]["use_repository_button"] is True


def test_colab_links_name_chapter_notebook(chapter_pages):
    owner_and_name = urlparse(CONFIG["repository"]["url"]).path.strip("/")
    branch = CONFIG["repository"]["branch"]
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    assert chapter_pages, "the build produced no page from a notebook"
    for page, source in chapter_pages.items():
        links = colab_links(page)
        assert links, f"{page.name}: no Colab link"
        for link in links:
            expected = f"{colab}/github/{owner_and_name}/blob/{branch}/{source.as_posix()}"
            assert link == expected, f"{page.name}: Colab link {link} is not {expected}"


def test_colab_notebooks_exist_on_branch(chapter_pages):
    ref, exists = git_checker()
    marker = f"/blob/{CONFIG['repository']['branch']}/"
    for page in chapter_pages:
        links = colab_links(page)
        assert links, f"{page.name}: no Colab link"
        for link in links:
            assert marker in link, f"{page.name}: {link} names another branch"
            path = link.split(marker, 1)[1]
            assert path.endswith(".ipynb"), f"{page.name}: {link} names no notebook"
            assert exists(path), f"{page.name}: {link} names {path}, which is not in {ref}; commit it"


def test_every_toc_notebook_has_colab_link(chapter_pages):
    linked = set(chapter_pages.values())
    chapters = build_book.notebook_chapters(ROOT)
    assert chapters, "_toc.yml lists no notebook"
    for chapter in chapters:
        assert chapter in linked, f"{chapter} has no built page with a Colab link"


def test_repository_button_on_every_page(html_dir):
    pages = sorted(html_dir.glob("book/*.html"))
    assert pages
    for page in pages:
        links, _ = parse_page(page)
        assert CONFIG["repository"]["url"] in links, f"{page.name}: no repository button"


def test_install_code_not_shown(chapter_pages):
    requirement = f"git+{CONFIG['repository']['url']}@{CONFIG['repository']['branch']}"
    for page, source in chapter_pages.items():
        _, text = parse_page(page)
        notebook = nbformat.read(ROOT / source, as_version=4)
        visible_code_cells = [cell for cell in notebook.cells
                              if cell.cell_type == "code" and requirement not in cell.source]
        # Proves that code cells do reach the page's text, so the next check can fail.
        first_line = visible_code_cells[0].source.splitlines()[0]
        assert first_line in text, f"{page.name}: code cells not found in the page"
        assert requirement not in text, f"{page.name}: the install cell is shown"
        assert "--constraint" not in text, f"{page.name}: the install cell is shown"

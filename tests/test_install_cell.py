"""Every chapter must open with the hidden cell that installs eyegan on Colab.

The cell's install branch needs the network, so it never runs here: its pip
command is checked by reading the code, and only the expression that builds
the version pins is evaluated. The rest of the cell runs in a subprocess where
eyegan is importable, as in the book build and under nbval.
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest
import yaml

from tool_modules import ROOT, load_tool

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOOL = ROOT / "tools" / "install_cell.py"


install_cell = load_tool("install_cell")
CHAPTERS = load_tool("build_book").notebook_chapters(ROOT)


def first_cell(chapter):
    return nbformat.read(ROOT / chapter, as_version=4).cells[0]


def install_cell_of(chapter):
    """Return the chapter's first cell; fail the test unless it is the install cell."""
    cell = first_cell(chapter)
    if cell.get("id") != install_cell.CELL_ID:
        pytest.fail(f"{chapter} does not start with the install cell; run tools/install_cell.py {chapter}")
    return cell


def run_tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True)


def pip_commands(source):
    """Return the argument lists in ``source`` that start a pip process, as lists of AST nodes."""
    commands = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.List):
            words = [element.value for element in node.elts if isinstance(element, ast.Constant)]
            if "pip" in words:
                commands.append(node.elts)
    return commands


def test_toc_lists_chapters():
    assert Path("book/data.ipynb") in CHAPTERS
    assert Path("book/training.ipynb") in CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_chapter_starts_with_install_cell(chapter):
    cell = first_cell(chapter)
    expected = install_cell.cell_source(CONFIG["repository"]["url"], CONFIG["repository"]["branch"])
    assert cell.cell_type == "code", f"{chapter}: first cell is not code; run tools/install_cell.py {chapter}"
    assert cell.get("id") == install_cell.CELL_ID, f"{chapter}: first cell is not the install cell"
    assert cell.source == expected, f"{chapter}: install cell is stale; run tools/install_cell.py {chapter}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_install_cell_is_hidden(chapter):
    tags = install_cell_of(chapter).metadata.get("tags", [])
    assert "remove-cell" in tags or "remove-input" in tags
    assert "nbval-ignore-output" in tags


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_install_address_matches_config(chapter):
    requirements = re.findall(r"git\+(https://[^\s\"'@]+)@([^\s\"']+)", install_cell_of(chapter).source)
    assert requirements == [(CONFIG["repository"]["url"], CONFIG["repository"]["branch"])]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_install_keeps_tensorflow(chapter):
    source = install_cell_of(chapter).source
    try:
        commands = pip_commands(source)
    except SyntaxError as error:
        pytest.fail(f"{chapter}: install cell is not plain Python ({error}); shell escapes such as "
                    "!pip bypass the TensorFlow pin")
    assert len(commands) == 1, f"{chapter}: expected one pip command, found {len(commands)}"
    words = [element.value for element in commands[0] if isinstance(element, ast.Constant)]
    assert "install" in words
    options = [index for index, element in enumerate(commands[0])
               if isinstance(element, ast.Constant) and element.value in ("--constraint", "-c")]
    assert options, "pip runs without constraints and could replace TensorFlow"
    assert ast.unparse(commands[0][options[0] + 1]) == "str(constraints)"
    assert not {"--upgrade", "-U", "--force-reinstall", "--ignore-installed"} & set(words)
    named = [word for word in words if "tensorflow" in word.lower() or "keras" in word.lower()]
    assert named == [], "pip is asked for TensorFlow or Keras by name"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_install_pins_installed_versions(chapter):
    """The constraint text must pin the TensorFlow and Keras that are installed."""
    tree = ast.parse(install_cell_of(chapter).source)
    assignments = [node for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   and [getattr(target, "id", None) for target in node.targets] == ["pins"]]
    assert len(assignments) == 1, f"{chapter}: expected one assignment to pins"
    expression = ast.Expression(assignments[0].value)
    pins = eval(compile(expression, "install-cell", "eval"), {"version": version})
    assert pins.splitlines() == [f"tensorflow=={version('tensorflow')}", f"keras=={version('keras')}"]
    assert "constraints.write_text(pins)" in ast.unparse(tree)


# Runs the install cell with pip blocked, whether started as a process or
# imported, and prints last the order in which eyegan and tensorflow were
# first imported. TensorFlow itself starts processes (uname), so those run.
CELL_RUNNER = """
import json, subprocess, sys

class ImportOrder:
    seen = []

    def find_spec(self, name, path=None, target=None):
        if name == "pip" or name.startswith("pip."):
            raise RuntimeError("the install cell imported pip")
        if name in ("eyegan", "tensorflow") and name not in self.seen:
            self.seen.append(name)
        return None

class PopenWithoutPip(subprocess.Popen):
    def __init__(self, args, *other, **options):
        if "pip" in str(args):
            raise RuntimeError(f"the install cell started pip: {args}")
        super().__init__(args, *other, **options)

sys.meta_path.insert(0, ImportOrder())
subprocess.Popen = PopenWithoutPip
exec(compile(open(sys.argv[1]).read(), "install-cell", "exec"))
print(json.dumps(ImportOrder.seen))
"""


def test_install_cell_prints_versions(tmp_path):
    source = install_cell.cell_source(CONFIG["repository"]["url"], CONFIG["repository"]["branch"])
    (tmp_path / "cell.py").write_text(source)
    (tmp_path / "runner.py").write_text(CELL_RUNNER)
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}

    result = subprocess.run([sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "cell.py")],
                            capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=300)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    *printed, import_order = result.stdout.splitlines()
    assert json.loads(import_order) == ["eyegan", "tensorflow"]
    assert len(printed) == 2, result.stdout
    assert printed[0] == f"TensorFlow {version('tensorflow')}, Keras {version('keras')}"
    assert re.fullmatch(r"GPU: (/physical_device:GPU:\d+(, )?)+|GPU: none, running on the CPU", printed[1])


def copy_chapter(tmp_path):
    """Copy book/data.ipynb, without its install cell, into ``tmp_path``; return the path and notebook."""
    notebook = nbformat.read(ROOT / "book" / "data.ipynb", as_version=4)
    notebook.cells = [cell for cell in notebook.cells if cell.get("id") != install_cell.CELL_ID]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(notebook, path)
    return path, notebook


def test_tool_twice_is_idempotent(tmp_path):
    path, original = copy_chapter(tmp_path)

    first = run_tool(path)
    after_first = path.read_bytes()
    second = run_tool(path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "install cell written" in first.stdout
    assert "already current" in second.stdout
    assert path.read_bytes() == after_first
    cells = nbformat.read(path, as_version=4).cells
    assert [cell.get("id") for cell in cells].count(install_cell.CELL_ID) == 1
    assert cells[0].get("id") == install_cell.CELL_ID
    assert [cell.source for cell in cells[1:]] == [cell.source for cell in original.cells]
    assert [cell.outputs for cell in cells[1:] if cell.cell_type == "code"] == \
        [cell.outputs for cell in original.cells if cell.cell_type == "code"]


def test_tool_replaces_stale_cell(tmp_path):
    path, original = copy_chapter(tmp_path)
    stale = install_cell.new_install_cell("https://github.com/someone/old", "dev")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(2, stale)
    nbformat.write(notebook, path)

    result = run_tool(path)

    assert result.returncode == 0, result.stderr
    cells = nbformat.read(path, as_version=4).cells
    assert len(cells) == len(original.cells) + 1
    assert cells[0].source == install_cell.cell_source(CONFIG["repository"]["url"], CONFIG["repository"]["branch"])
    assert "someone/old" not in "".join(cell.source for cell in cells)


def test_tool_keeps_outputs_of_current_cell(tmp_path):
    path, _ = copy_chapter(tmp_path)
    run_tool(path)
    notebook = nbformat.read(path, as_version=4)
    output = nbformat.v4.new_output("stream", name="stdout", text="TensorFlow 2.21.0, Keras 3.15.1\n")
    notebook.cells[0].outputs = [output]
    nbformat.write(notebook, path)

    result = run_tool(path)

    assert result.returncode == 0, result.stderr
    assert nbformat.read(path, as_version=4).cells[0].outputs == [output]


def test_tool_keeps_file_mode(tmp_path):
    path, _ = copy_chapter(tmp_path)
    path.chmod(0o640)

    result = run_tool(path)

    assert result.returncode == 0, result.stderr
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(tmp_path.iterdir()) == [path], "a temporary file was left behind"


def test_tool_rejects_bad_notebook(tmp_path):
    good, _ = copy_chapter(tmp_path)
    bad = tmp_path / "broken.ipynb"
    bad.write_text("not json")
    before = good.read_bytes()

    result = run_tool(good, bad)

    assert result.returncode == 1
    assert f"{bad}: not a valid Jupyter notebook" in result.stderr
    assert good.read_bytes() == before, "a notebook changed although another one was invalid"


def test_tool_rejects_missing_repository(tmp_path):
    path, _ = copy_chapter(tmp_path)
    config = tmp_path / "_config.yml"
    config.write_text("title: no repository\n")

    result = run_tool(path, "--config", config)

    assert result.returncode == 1
    assert f"{config}: repository section missing" in result.stderr
    assert "url" in result.stderr
    assert "branch" in result.stderr


def test_tool_reads_address_from_config(tmp_path):
    path, _ = copy_chapter(tmp_path)
    config = tmp_path / "_config.yml"
    shutil.copy(ROOT / "_config.yml", config)
    text = config.read_text().replace(CONFIG["repository"]["url"], "https://example.org/fork/eyegan")
    config.write_text(text)

    result = run_tool(path, "--config", config)

    assert result.returncode == 0, result.stderr
    source = nbformat.read(path, as_version=4).cells[0].source
    assert "git+https://example.org/fork/eyegan@main" in source

"""The book build must fail, naming the notebook, when a cell raises."""

import shutil

import nbformat

from tool_modules import ROOT, load_tool


def test_raising_cell_fails_build(tmp_path, capsys):
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "_config.yml", tmp_path)
    for name in ("intro.md", "references.md", "references.bib"):
        shutil.copy(ROOT / "book" / name, tmp_path / "book")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/broken\n  - file: book/references\n")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Broken"),
        nbformat.v4.new_code_cell('raise RuntimeError("deliberate failure")'),
    ])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "book" / "broken.ipynb")

    status = load_tool("build_book").main(tmp_path)

    error = capsys.readouterr().err
    assert status == 1
    assert "a cell raised in book/broken.ipynb" in error
    report = tmp_path / "_build" / "html" / "reports" / "book" / "broken.err.log"
    assert str(report) in error
    assert "deliberate failure" in report.read_text()

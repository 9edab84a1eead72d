"""Chapters must show no TensorFlow log lines and no stderr, in a real Jupyter kernel."""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

BOOK = Path(__file__).resolve().parent.parent / "book"

# TensorFlow's C++ log prefix (severity letter, date, time, thread id) and the
# notices that bypass it.
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\]|oneDNN custom operations|"
                         r"absl::InitializeLog|cuInit|cpu_feature_guard", re.MULTILINE)


def output_texts(notebook):
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                yield cell, output.name, output.text
            elif output.output_type == "error":
                yield cell, "error", "\n".join(output.traceback)
            else:
                yield cell, output.output_type, str(output.get("data", {}).get("text/plain", ""))


def test_kernel_shows_no_tensorflow_logs():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "import eyegan\nfrom eyegan import data, training",
        "config = training.TrainConfig(batch_size=8, epochs=1, generator_steps=1)\n"
        "images = data.preprocess(data.load_patches(None, n_default=16).images)\n"
        "run = training.train_gan(images, config, verbose=0)\n"
        "print(sorted(run.history))",
    )])
    # ipykernel forwards file descriptor 2 into cell outputs, as Jupyter and
    # Colab show it, unless PYTEST_CURRENT_TEST is set, so remove that variable.
    environment = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute(env=environment)

    streams = [(name, text) for _, name, text in output_texts(notebook)]
    assert [name for name, _ in streams] == ["stdout"]
    assert "g_loss" in streams[0][1]
    assert not TF_LOG_LINE.search("".join(text for _, text in streams))


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.ipynb")), ids=lambda p: p.name)
def test_stored_outputs_are_clean(path):
    notebook = nbformat.read(path, as_version=4)
    for cell, name, text in output_texts(notebook):
        assert name not in ("stderr", "error"), f"{path.name}: {name} output in cell:\n{cell.source}"
        assert not TF_LOG_LINE.search(text), f"{path.name}: TensorFlow log line in cell:\n{cell.source}"

"""Execute chapters in place, at full size, so their stored outputs are current.

Usage: python tools/execute_notebooks.py book/training.ipynb [...]

nbval compares the outputs stored in each notebook with a fresh run, and
GitHub shows the stored outputs, so re-run this after changing a chapter or
the code it calls. The book build does not use these outputs: it executes
every chapter itself.
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

# Generous: the training chapter trains for several minutes at full size.
CELL_TIMEOUT_S = 1800


def execute(path):
    """Run every cell of the notebook at ``path`` in its folder and save it in place."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute()
    temporary = path.with_name(f".{path.name}.tmp")
    nbformat.write(notebook, temporary)
    os.replace(temporary, path)
    print(f"{path}: executed in {time.perf_counter() - started:.0f} s")


def main(paths):
    os.environ.pop("EYEGAN_QUICK", None)
    for name in paths:
        execute(Path(name))


if __name__ == "__main__":
    main(sys.argv[1:])

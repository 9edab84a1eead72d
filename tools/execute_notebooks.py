"""Execute chapters in place, at full size, so their stored outputs are current.

Usage: python tools/execute_notebooks.py book/training.ipynb [...]

nbval compares the outputs stored in each notebook with a fresh run, and
GitHub shows the stored outputs, so re-run this after changing a chapter or
the code it calls. The book build does not use these outputs: it executes
every chapter itself.
"""

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

# Generous: the training chapter trains for several minutes at full size.
CELL_TIMEOUT_S = 1800

# Outputs larger than this (the embedded training GIF) are not stored, to keep
# the repository small; the book build executes every chapter and shows them.
MAX_STORED_OUTPUT_BYTES = 500_000


def drop_large_outputs(notebook):
    """Remove outputs over MAX_STORED_OUTPUT_BYTES from every cell; return how many."""
    dropped = 0
    for cell in notebook.cells:
        outputs = cell.get("outputs", [])
        small_outputs = [o for o in outputs if len(json.dumps(o)) <= MAX_STORED_OUTPUT_BYTES]
        dropped += len(outputs) - len(small_outputs)
        if outputs:
            cell.outputs = small_outputs
    return dropped


def save(notebook, path):
    """Store ``notebook`` at ``path`` without large outputs or widget state; return outputs dropped."""
    dropped = drop_large_outputs(notebook)
    # nbclient stores every widget's state, PNGs included, in the metadata. No
    # reader of the stored notebook can use it: Jupyter rebuilds widgets when
    # the cells run, and the book shows the PNG output instead.
    notebook.metadata.pop("widgets", None)
    temporary = path.with_name(f".{path.name}.tmp")
    nbformat.write(notebook, temporary)
    os.replace(temporary, path)
    return dropped


def execute(path):
    """Run every cell of the notebook at ``path`` in its folder and save it in place."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute()
    dropped = save(notebook, path)
    print(f"{path}: executed in {time.perf_counter() - started:.0f} s; {dropped} large outputs not stored")


def main(paths):
    os.environ.pop("EYEGAN_QUICK", None)
    for name in paths:
        execute(Path(name))


if __name__ == "__main__":
    main(sys.argv[1:])

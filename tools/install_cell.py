"""Insert or update the hidden install cell at the top of chapter notebooks.

Usage: python tools/install_cell.py book/data.ipynb [...] [--config _config.yml]

The cell lets a chapter opened on Colab install eyegan from the book's
repository, then prints the TensorFlow and Keras versions and whether a GPU is
present. The repository address and branch come from the ``repository``
section of _config.yml, which the book's launch buttons also read, so the two
cannot name different repositories. A notebook whose install cell is already
current is left untouched, so running the tool twice changes nothing.
"""

import argparse
import os
import string
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent

# Cell id of the install cell (nbformat 4.5), so a rerun finds and replaces it.
CELL_ID = "install-eyegan"

# remove-cell hides the cell and its output in the HTML book. nbval-ignore-output
# keeps nbval from comparing version lines that differ between machines.
CELL_TAGS = ["remove-cell", "nbval-ignore-output"]

# $requirement becomes the pip requirement of the book's repository and branch.
CELL_TEMPLATE = string.Template('''\
# Installs eyegan where it is missing, as on Colab, and shows what the chapter runs on.
# Colab ships TensorFlow and Keras, so pip gets their installed versions as
# constraints: it adds eyegan's other dependencies but never replaces TensorFlow,
# and it stops with an error if that TensorFlow is too old for eyegan.
# The HTML book hides this cell.
try:
    import eyegan
except ImportError:
    import importlib
    import subprocess
    import sys
    import tempfile
    from importlib.metadata import version
    from pathlib import Path

    pins = "".join(f"{name}=={version(name)}\\n" for name in ("tensorflow", "keras"))
    constraints = Path(tempfile.mkdtemp()) / "constraints.txt"
    constraints.write_text(pins)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    "--constraint", str(constraints), "$requirement"], check=True)
    importlib.invalidate_caches()
    import eyegan

# Imported through eyegan, which keeps TensorFlow's start-up notices out of the output.
from eyegan._tf import keras, tf

gpus = tf.config.list_physical_devices("GPU")
print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}")
print("GPU:", ", ".join(gpu.name for gpu in gpus) or "none, running on the CPU")''')


class InstallCellError(Exception):
    """An input file that the tool cannot use; the message names the file and the fix."""


def read_repository(config_path):
    """Return ``(url, branch)`` from the ``repository`` section of a Jupyter Book config.

    ``url`` is an https address without a trailing slash. Raises InstallCellError
    when the file is missing or is not YAML, or when the section lacks either value.
    """
    fix = f"add a repository section with url (https://...) and branch to {config_path}"
    try:
        config = yaml.safe_load(Path(config_path).read_text())
    except FileNotFoundError:
        raise InstallCellError(f"{config_path}: file not found; pass the book's _config.yml with --config")
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())
        raise InstallCellError(f"{config_path}: invalid YAML ({detail}); fix the file or pass another with --config")

    repository = config.get("repository") if isinstance(config, dict) else None
    if not isinstance(repository, dict):
        raise InstallCellError(f"{config_path}: repository section missing; {fix}")
    url = str(repository.get("url") or "").rstrip("/")
    branch = str(repository.get("branch") or "")
    address = urlparse(url)
    if address.scheme != "https" or not address.netloc or not address.path.strip("/") or " " in url:
        raise InstallCellError(f"{config_path}: repository url {url!r} is not an https address; {fix}")
    if not branch:
        raise InstallCellError(f"{config_path}: repository branch missing; {fix}")
    if any(character.isspace() for character in branch):
        raise InstallCellError(f"{config_path}: repository branch {branch!r} contains whitespace; {fix}")
    return url, branch


def cell_source(url, branch):
    """Return the install cell's code for the repository at ``url``, on ``branch``."""
    return CELL_TEMPLATE.substitute(requirement=f"git+{url}@{branch}")


def new_install_cell(url, branch):
    """Return the install cell: a code cell with id CELL_ID, tags CELL_TAGS and no outputs."""
    return nbformat.v4.new_code_cell(cell_source(url, branch), id=CELL_ID,
                                     metadata={"tags": list(CELL_TAGS)})


def read_notebook(path):
    """Read the notebook at ``path`` as nbformat 4.5 or later, which has cell ids.

    Raises InstallCellError, naming the file, when it is missing, is not a
    notebook or is an invalid one.
    """
    path = Path(path)
    if path.suffix != ".ipynb":
        raise InstallCellError(f"{path}: not a .ipynb file; pass chapter notebooks only")
    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except FileNotFoundError:
        raise InstallCellError(f"{path}: file not found; pass the path of a chapter notebook")
    # nbformat raises any of these, depending on where a malformed file breaks it.
    except (ValueError, TypeError, KeyError, AttributeError, nbformat.ValidationError) as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise InstallCellError(f"{path}: not a valid Jupyter notebook ({first_line}); "
                               "open and save it in Jupyter, or pass another file")
    if notebook.nbformat_minor < 5:
        # Cell ids came with nbformat 4.5, so upgrading gives every cell one.
        notebook = nbformat.v4.upgrade(notebook, from_version=4, from_minor=notebook.nbformat_minor)
    return notebook


def is_current(cell, expected):
    """Return whether ``cell`` already has the code, type and tags of ``expected``."""
    return (cell.cell_type == "code" and cell.source == expected.source
            and cell.metadata.get("tags") == expected.metadata["tags"])


def place_install_cell(notebook, cell):
    """Make ``cell`` the first cell of ``notebook``, replacing any cell with its id.

    A first cell that is already current keeps its stored outputs. Returns
    whether the notebook changed.
    """
    if notebook.cells and notebook.cells[0].get("id") == CELL_ID and is_current(notebook.cells[0], cell):
        return False
    notebook.cells = [cell] + [other for other in notebook.cells if other.get("id") != CELL_ID]
    return True


def write_atomically(notebook, path):
    """Write ``notebook`` to ``path`` through a temporary file in the same folder, then rename it."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            nbformat.write(notebook, file)
        # mkstemp creates the file readable by its owner only; keep the notebook's mode.
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv=None):
    """Update the notebooks named in ``argv``; return the exit status (0, or 1 on bad input)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="chapter notebooks (.ipynb) to update in place")
    parser.add_argument("--config", type=Path, default=ROOT / "_config.yml",
                        help="Jupyter Book config whose repository section gives the url and branch "
                             "(default: the repository's _config.yml)")
    args = parser.parse_args(argv)

    try:
        url, branch = read_repository(args.config)
        # Read every notebook before writing any, so that one bad file changes nothing.
        notebooks = [(path, read_notebook(path)) for path in args.notebooks]
    except InstallCellError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    for path, notebook in notebooks:
        if place_install_cell(notebook, new_install_cell(url, branch)):
            write_atomically(notebook, path)
            print(f"{path}: install cell written")
        else:
            print(f"{path}: install cell already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())

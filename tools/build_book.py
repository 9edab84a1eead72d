"""Build the HTML book with every chapter executed; fail, naming the chapter, on any error.

Jupyter Book 1 only warns when a cell raises. Building with -W turns every
warning into a failure, and this script then names the notebooks whose
execution failed and the logs that hold their tracebacks. The previous build
is removed first, so a failed build never leaves stale pages behind.
"""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
FAILED_NOTEBOOK = re.compile(r"(\S+\.ipynb): WARNING: Executing notebook failed")


def main(root=ROOT):
    """Build the book whose _config.yml and _toc.yml are in ``root``; return the exit status."""
    build_dir = root / "_build"
    shutil.rmtree(build_dir, ignore_errors=True)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root),
               "--path-output", str(root), "-W", "-n", "--keep-going"]
    started = time.perf_counter()
    failed = set()
    # Stream the build's log as it runs: executing the chapters takes minutes.
    with subprocess.Popen(command, cwd=root, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT) as build:
        for line in build.stdout:
            line = ANSI_ESCAPE.sub("", line)
            print(line, end="", flush=True)
            failed.update(FAILED_NOTEBOOK.findall(line))
    minutes = (time.perf_counter() - started) / 60

    if build.returncode != 0:
        for notebook in sorted(failed):
            source = Path(notebook).resolve().relative_to(root.resolve())
            report = build_dir / "html" / "reports" / source.with_suffix(".err.log")
            print(f"error: a cell raised in {source}; traceback in {report}", file=sys.stderr)
        if not failed:
            print("error: the book build reported the warnings above; fix them", file=sys.stderr)
        return 1

    print(f"Book built in {minutes:.1f} min: {build_dir / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the HTML book with every chapter executed; fail, naming the chapter, on any error.

Jupyter Book 1 only warns when a cell raises. Building with -W turns every
warning into a failure, and this script then names the notebooks whose
execution failed and where their tracebacks were written.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "_build"


def main():
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--path-output", str(ROOT),
               "-W", "-n", "--keep-going"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    print(result.stdout)
    minutes = (time.perf_counter() - started) / 60

    if result.returncode != 0:
        failed = sorted(set(re.findall(r"([\w./-]+\.ipynb): WARNING: Executing notebook failed", result.stdout)))
        for notebook in failed:
            report = BUILD_DIR / "html" / "reports" / (Path(notebook).stem + ".err.log")
            print(f"error: a cell raised in {notebook}; traceback in {report}", file=sys.stderr)
        if not failed:
            print("error: the book build reported warnings (listed above); fix them", file=sys.stderr)
        return 1

    print(f"Book built in {minutes:.1f} min: {BUILD_DIR / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the HTML book with every chapter executed; fail, naming the chapter, on any error.

Jupyter Book 1 only warns when a cell raises. Building with -W turns every
warning into a failure, and this script then names the notebooks whose
execution failed and the logs that hold their tracebacks. The previous build
is removed first, so a failed build never leaves stale pages behind.

Tests import two helpers: ``build_unexecuted`` builds the same book in
seconds from the outputs stored in the chapters, and ``notebook_chapters``
lists the chapters that are notebooks.
"""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
FAILED_NOTEBOOK = re.compile(r"(\S+\.ipynb): WARNING: Executing notebook failed")


def build_command(root, output, config=None):
    """Return the jupyter-book command that builds ``root`` into ``output``/_build.

    Warnings are errors (-W), missing references warn (-n), and the build
    reports every warning before it fails (--keep-going). ``config`` replaces
    ``root``/_config.yml when given.
    """
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root),
               "--path-output", str(output), "-W", "-n", "--keep-going"]
    if config is not None:
        command += ["--config", str(config)]
    return command


def build_unexecuted(root, output):
    """Build the book in ``root`` into ``output``/_build/html, executing no chapter.

    The pages show the outputs stored in the notebooks. Writes a copy of
    _config.yml with execution off into ``output``, leaves ``root`` unchanged
    and returns the finished process, whose ``stdout`` contains the build log.
    """
    config = yaml.safe_load((root / "_config.yml").read_text())
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    output.mkdir(parents=True, exist_ok=True)
    config_path = output / "_config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return subprocess.run(build_command(root, output, config_path), cwd=root, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def toc_files(entry):
    """Yield the file names in ``entry``, a parsed _toc.yml or part of one, in book order."""
    if isinstance(entry, list):
        for item in entry:
            yield from toc_files(item)
    elif isinstance(entry, dict):
        for key in ("root", "file"):
            if key in entry:
                yield entry[key]
        for key in ("parts", "chapters", "sections"):
            yield from toc_files(entry.get(key, []))


def notebook_chapters(root):
    """Return the .ipynb files that _toc.yml in ``root`` lists, as paths relative to ``root``."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    chapters = []
    for name in toc_files(toc):
        # _toc.yml names files with or without their extension.
        path = Path(name if name.endswith(".ipynb") else f"{name}.ipynb")
        if (root / path).is_file():
            chapters.append(path)
    return chapters


def main(root=ROOT):
    """Build the book whose _config.yml and _toc.yml are in ``root``; return the exit status."""
    build_dir = root / "_build"
    shutil.rmtree(build_dir, ignore_errors=True)
    command = build_command(root, root)
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

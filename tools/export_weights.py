"""Copy a training run's generator and records into eyegan/weights/.

    python tools/export_weights.py RUN_DIR [--dest eyegan/weights]

RUN_DIR is a folder written by ``python -m eyegan train``. Only runs trained on
the package's rendered eyes are accepted: weights trained on downloaded data
must not be committed. The copy goes to a temporary folder next to the
destination, which then replaces the destination in one rename, so a failed
export leaves the previous weights in place. ``make weights`` runs this after
training the recommended configuration.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT / "eyegan" / "weights"
RUN_FILES = ("generator.keras", "config.json", "history.csv", "data_source.txt")
RENDERED_SOURCE_PREFIX = "eyegan.render."
# The packaged weights travel with every install; keep them small.
MAX_TOTAL_BYTES = 10 * 1024 * 1024


class ExportError(Exception):
    """A run folder that cannot be exported; the message names the file and the fix."""


def check_run(run_dir):
    """Check that ``run_dir`` is a complete run trained on rendered eyes; return its grid files."""
    for name in RUN_FILES:
        if not (run_dir / name).is_file():
            raise ExportError(f"{run_dir / name} not found; pass a folder written by "
                              "'python -m eyegan train' (runs from before it recorded data_source.txt "
                              "must be trained again)")
    source = (run_dir / "data_source.txt").read_text().strip()
    if not source.startswith(RENDERED_SOURCE_PREFIX):
        raise ExportError(f"{run_dir} was trained on {source}, not on rendered eyes; only weights "
                          "trained on eyegan.render data may ship with the package. Unset EYEGAN_DATA "
                          "and train again")
    grids = sorted((run_dir / "samples").glob("epoch_*.png"))
    if not grids:
        raise ExportError(f"{run_dir / 'samples'} contains no epoch_NNNN.png grids; train with "
                          "'python -m eyegan train' so that it writes them")
    total = sum((run_dir / name).stat().st_size for name in RUN_FILES) + sum(g.stat().st_size for g in grids)
    if total > MAX_TOTAL_BYTES:
        raise ExportError(f"{run_dir} would add {total / 1e6:.1f} MB, over the limit of "
                          f"{MAX_TOTAL_BYTES / 1e6:.1f} MB; train with fewer epochs or a smaller grid")
    return grids


def export(run_dir, dest=DEFAULT_DEST):
    """Replace ``dest`` with the generator, config, history and grids of ``run_dir``."""
    run_dir, dest = Path(run_dir), Path(dest)
    grids = check_run(run_dir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        for name in RUN_FILES:
            shutil.copyfile(run_dir / name, staging / name)
        (staging / "samples").mkdir()
        for grid in grids:
            shutil.copyfile(grid, staging / "samples" / grid.name)
        staging.chmod(0o755)
        old = dest.with_name(f".{dest.name}.old")
        if dest.exists():
            dest.rename(old)
        staging.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return dest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="folder written by 'python -m eyegan train'")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                        help=f"destination folder (default: {DEFAULT_DEST.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    try:
        dest = export(args.run_dir, args.dest)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    size = sum(path.stat().st_size for path in dest.rglob("*") if path.is_file())
    print(f"exported {args.run_dir} to {dest} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

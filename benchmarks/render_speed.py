"""Measure how many eye patches per second eyegan.render draws on one CPU core.

Usage: python benchmarks/render_speed.py [--patches N] [--repeats R]

The BLAS and OpenMP thread counts are pinned to 1 before numpy loads, so the number
is for a single core. The script prints the best of R timed runs after one warm-up.
"""

import os

# Must be set before numpy is imported, because BLAS reads them when it loads.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

from eyegan.render import render_eyes  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=4096, help="patches per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="number of timed runs")
    arguments = parser.parse_args()

    render_eyes(256, seed=0)  # Warm-up: first calls pay for imports and allocation.

    best_seconds = float("inf")
    for repeat in range(arguments.repeats):
        start = time.perf_counter()
        render_eyes(arguments.patches, seed=repeat)
        best_seconds = min(best_seconds, time.perf_counter() - start)

    rate = arguments.patches / best_seconds
    print(f"{rate:,.0f} patches per second on one core "
          f"({arguments.patches} patches in {best_seconds:.3f} s, best of {arguments.repeats})")


if __name__ == "__main__":
    main()

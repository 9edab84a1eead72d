"""Named grids of training configurations, run over several seeds and scored.

An experiment compares a few settings, each a set of changes to the reference
regime, trained for the same budget of discriminator steps on the same rendered
eyes. After training, each run draws :data:`EVAL_COUNT` eyes and scores them
against as many unseen rendered eyes with :func:`eyegan.metrics.evaluate`.

:func:`run_experiment` writes, under ``results/<name>/``:

- ``results.csv``: one row per setting and seed, with the metric values, the
  wall time, and the library versions and machine of the run;
- ``samples/<setting>-seed<seed>.png``: a grid of the run's eyes.

A row that is already in ``results.csv`` is not run again, so an interrupted
experiment resumes where it stopped. A run with the same changes, seed and
budget in another experiment's table (the reference appears in most) is copied
rather than trained again: training is deterministic on a given machine. :func:`summarize` and
:func:`format_summary` give the mean, standard deviation, minimum and maximum
per setting.
"""

import csv
import dataclasses
import logging
import os
import platform
import time
from pathlib import Path

import numpy as np

from eyegan import data, metrics, plotting
from eyegan.training import PRESETS, TrainConfig

log = logging.getLogger(__name__)

# Settings' changes that are not TrainConfig fields but preprocessing options.
DATA_OPTIONS = ("scaling", "pad_mode")

# The budget every run gets: BUDGET_STEPS discriminator steps of BUDGET_BATCH real
# eyes each, drawn from TRAIN_COUNT rendered eyes. The reference's batch of 300
# would make each experiment take hours on 2 CPU cores.
BUDGET_STEPS = 250
BUDGET_BATCH = 32
TRAIN_COUNT = 4000
# Eyes generated per run and unseen rendered eyes they are scored against.
EVAL_COUNT = 2000
# Renderer seeds of the training and of the held-out eyes; distinct, so no
# held-out eye is a training eye.
TRAIN_DATA_SEED = 1000
HELD_OUT_DATA_SEED = 2000
# Noise seed of the generated eyes that are scored and shown.
EVAL_NOISE_SEED = 12345
GRID_COUNT = 24
SEEDS = (0, 1, 2)

# Committed with the package, so that the chapters find the tables wherever
# eyegan is installed.
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Columns of results.csv before the metric columns.
RUN_COLUMNS = ("experiment", "setting", "seed", "steps", "batch_size", "changes", "wall_s",
               "d_real", "d_fake", "g_loss")
METRIC_COLUMNS = ("swd", "swd_level_0", "swd_level_1", "swd_level_2", "diversity", "memorization")
ENVIRONMENT_COLUMNS = ("tensorflow", "keras", "numpy", "python", "machine")
COLUMNS = RUN_COLUMNS + METRIC_COLUMNS + ENVIRONMENT_COLUMNS
# Numeric columns that summarize and the report command accept.
SUMMARY_COLUMNS = METRIC_COLUMNS + ("wall_s", "d_real", "d_fake", "g_loss")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One configuration of an experiment: a label and its changes to the reference.

    ``changes`` maps :class:`~eyegan.training.TrainConfig` fields, and the
    preprocessing options ``scaling`` and ``pad_mode``, to their values.
    ``steps``, when set, replaces the experiment's budget of discriminator
    steps, so that settings of unequal cost per step can get equal compute.
    """

    label: str
    changes: dict = dataclasses.field(default_factory=dict)
    steps: int | None = None

    def train_config(self, seed, steps=BUDGET_STEPS, batch_size=BUDGET_BATCH):
        """Return the TrainConfig of this setting for one seed and budget."""
        fields = {k: v for k, v in self.changes.items() if k not in DATA_OPTIONS}
        return TrainConfig(batch_size=batch_size, epochs=1, steps_per_epoch=steps, seed=seed, **fields)

    def data_options(self):
        """Return the keyword arguments for :func:`eyegan.data.preprocess`."""
        return {k: v for k, v in self.changes.items() if k in DATA_OPTIONS}

    def describe(self):
        """Return the changes as ``key=value`` pairs, or "reference" for none."""
        return " ".join(f"{k}={v}" for k, v in sorted(self.changes.items())) or "reference"


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A named comparison: its question and the settings that answer it."""

    name: str
    question: str
    settings: tuple

    def setting(self, label):
        """Return the setting called ``label``; raise KeyError naming the known ones."""
        for setting in self.settings:
            if setting.label == label:
                return setting
        raise KeyError(f"experiment {self.name!r} has no setting {label!r}; "
                       f"it has {[s.label for s in self.settings]}")


REFERENCE = Setting("reference")


def _preset_changes(name):
    """Return the fields in which preset ``name`` differs from the reference preset."""
    reference = dataclasses.asdict(PRESETS["reference"])
    return {k: v for k, v in dataclasses.asdict(PRESETS[name]).items() if reference[k] != v}


EXPERIMENTS = {experiment.name: experiment for experiment in (
    Experiment(
        "batch_norm", "Does the GAN need batch normalization, and in which network?",
        (REFERENCE,
         Setting("generator only", {"discriminator_batch_norm": False}),
         Setting("discriminator only", {"generator_batch_norm": False}),
         Setting("none", {"generator_batch_norm": False, "discriminator_batch_norm": False}))),
    Experiment(
        "discriminator_batches", "Must the discriminator see separate all-real and all-fake batches?",
        (REFERENCE,
         Setting("mixed batch", {"separate_batches": False}))),
    Experiment(
        "input_scaling", "Does it matter that (x - 129) / 73.8 puts real pixels where tanh cannot go?",
        (REFERENCE,
         Setting("[-1, 1], edge padding", {"scaling": "unit", "pad_mode": "edge"}),
         Setting("[-1, 1], reflect padding", {"scaling": "unit", "pad_mode": "reflect"}))),
    Experiment(
        "beta1", "Is Adam's beta1 = 0.5 better than the default 0.9?",
        (REFERENCE,
         Setting("beta1 0.9", {"beta_1": 0.9}))),
    Experiment(
        "learning_rates", "Which learning rates of the generator (G) and discriminator (D) work?",
        (REFERENCE,
         Setting("G 2e-4, D 2e-4", {"generator_lr": 2e-4, "discriminator_lr": 2e-4}),
         Setting("G 1e-4, D 4e-4", {"generator_lr": 1e-4, "discriminator_lr": 4e-4}),
         Setting("G 2e-4, D 2e-3", {"generator_lr": 2e-4, "discriminator_lr": 2e-3}),
         Setting("G 5e-5, D 2e-4", {"generator_lr": 5e-5, "discriminator_lr": 2e-4}))),
    Experiment(
        "update_ratio", "How many generator updates per discriminator update?",
        (Setting("1 G step", {"generator_steps": 1}),
         Setting("2 G steps", {"generator_steps": 2}),
         Setting("5 G steps (reference)", {}),
         # A step with 1 or 2 generator updates took about 1/3 or 1/2 of the
         # reference step's wall time (2 CPU cores), so these get as much compute.
         Setting("1 G step, 3x steps", {"generator_steps": 1}, steps=3 * BUDGET_STEPS),
         Setting("2 G steps, 2x steps", {"generator_steps": 2}, steps=2 * BUDGET_STEPS))),
    # Equal steps and generator updates per step, so equal compute.
    Experiment(
        "recommended", "Does the recommended configuration beat the reference at equal compute?",
        (REFERENCE,
         Setting("recommended", _preset_changes("recommended")))),
)}


def get_experiment(name):
    """Return the experiment called ``name``; raise KeyError naming the known ones."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise KeyError(f"no experiment named {name!r}; choose one of {sorted(EXPERIMENTS)}") from None


def experiment_dir(name, results_dir=RESULTS_DIR):
    """Return the folder that contains an experiment's results table and sample grids."""
    return Path(results_dir) / name


def sample_grid_path(folder, label, seed):
    """Return where the runner saves the sample grid of a setting and seed in ``folder``."""
    return Path(folder) / "samples" / f"{_file_stem(label)}-seed{seed}.png"


def load_results(name, results_dir=RESULTS_DIR):
    """Return an experiment's result rows; raise FileNotFoundError naming the command to run."""
    table = experiment_dir(name, results_dir) / "results.csv"
    rows = read_results(table)
    if not rows:
        raise FileNotFoundError(f"{table} has no results; run 'python -m eyegan experiment run {name}'")
    return rows


def read_results(path):
    """Return the rows of a results.csv as dicts of strings, or [] when it does not exist."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def write_results(rows, path):
    """Write result rows to ``path`` through a temporary file, with the standard columns."""
    with plotting.atomic_path(path) as temporary:
        with temporary.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({column: row.get(column, "") for column in COLUMNS})


class EvaluationData:
    """The rendered training eyes and the held-out eyes runs are scored against.

    Rendering takes a few seconds; one instance serves every run of a session.
    """

    def __init__(self, train_count=TRAIN_COUNT, eval_count=EVAL_COUNT):
        from eyegan import render

        self.train_patches = render.render_eyes(train_count, seed=TRAIN_DATA_SEED).images
        held_out = render.render_eyes(eval_count, seed=HELD_OUT_DATA_SEED).images
        self.train_pixels = data.unpad(data.crop_and_pad(self.train_patches)).astype(np.float32)
        self.held_out_pixels = data.unpad(data.crop_and_pad(held_out)).astype(np.float32)


def generate_pixels(generator, count, *, seed=EVAL_NOISE_SEED, scaling="reference"):
    """Draw ``count`` eyes from ``generator`` as float32 pixels of their 32x55 content."""
    noise = np.random.default_rng(seed).standard_normal((count, generator.input_shape[-1]))
    images = generator.predict(noise.astype(np.float32), batch_size=256, verbose=0)
    return data.unpad(data.denormalize(images, scaling=scaling))


def run_setting(experiment, setting, seed, evaluation, *, steps=BUDGET_STEPS, batch_size=BUDGET_BATCH):
    """Train one setting for one seed, score it and return (row, uint8 sample pixels)."""
    from eyegan._tf import keras, tf
    from eyegan.training import train_gan

    config = setting.train_config(seed, steps, batch_size)
    options = setting.data_options()
    images = data.preprocess(evaluation.train_patches, **options)

    started = time.perf_counter()
    run = train_gan(images, config, verbose=0)
    wall_s = time.perf_counter() - started

    generated = generate_pixels(run.gan.generator, len(evaluation.held_out_pixels),
                                scaling=options.get("scaling", "reference"))
    scores = metrics.evaluate(generated, evaluation.held_out_pixels, train=evaluation.train_pixels)
    last = {name: values[-1] for name, values in run.history.items()}
    row = {
        "experiment": experiment.name, "setting": setting.label, "seed": seed, "steps": steps,
        "batch_size": batch_size, "changes": setting.describe(), "wall_s": f"{wall_s:.1f}",
        **{name: f"{last[name]:.4g}" for name in ("d_real", "d_fake", "g_loss")},
        **{name: f"{value:.5g}" for name, value in scores.items()},
        "tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "machine": _machine(),
    }
    return row, np.rint(generated[:GRID_COUNT]).astype(np.uint8)


def run_experiment(name, *, results_dir=RESULTS_DIR, seeds=SEEDS, settings=None, steps=BUDGET_STEPS,
                   batch_size=BUDGET_BATCH, evaluation=None):
    """Run every setting x seed of an experiment that its results table lacks.

    ``settings`` limits the run to some setting labels. Each finished run is
    added to ``results.csv`` at once, so an interrupted experiment keeps its
    finished runs. Rows made with another budget are kept but do not count as
    done. Returns the path of ``results.csv``.
    """
    experiment = get_experiment(name)
    chosen = experiment.settings if settings is None else [experiment.setting(label) for label in settings]
    folder = experiment_dir(name, results_dir)
    table = folder / "results.csv"
    rows = read_results(table)
    done = {(row["setting"], int(row["seed"]), int(row["steps"]), int(row["batch_size"])) for row in rows}

    for setting in chosen:
        setting_steps = setting.steps or steps
        for seed in seeds:
            if (setting.label, seed, setting_steps, batch_size) in done:
                log.info("%s / %s / seed %d: already in %s", name, setting.label, seed, table)
                continue
            grid_path = sample_grid_path(folder, setting.label, seed)
            copied = _copy_matching_run(results_dir, setting, seed, setting_steps, batch_size, grid_path)
            if copied is not None:
                row = {**copied, "experiment": name, "setting": setting.label}
                log.info("%s / %s / seed %d: copied from experiment %s", name, setting.label, seed,
                         copied["experiment"])
            else:
                if evaluation is None:
                    evaluation = EvaluationData()
                log.info("%s / %s / seed %d: training %d steps", name, setting.label, seed, setting_steps)
                row, samples = run_setting(experiment, setting, seed, evaluation, steps=setting_steps,
                                           batch_size=batch_size)
                plotting.save_png(plotting.image_grid(samples, columns=6), grid_path, scale=2)
            rows.append(row)
            write_results(rows, table)
            log.info("%s / %s / seed %d: swd %s in %s s", name, setting.label, seed, row["swd"], row["wall_s"])
    return table


def summarize(rows, metric="swd"):
    """Return per-setting statistics of ``metric`` over seeds, in first-seen order.

    Each entry is a dict with ``setting``, ``runs``, ``mean``, ``std`` (sample
    standard deviation, 0 for one run), ``min`` and ``max``.
    """
    values = {}
    for row in rows:
        values.setdefault(row["setting"], []).append(float(row[metric]))
    summary = []
    for setting, numbers in values.items():
        numbers = np.array(numbers)
        summary.append({
            "setting": setting, "runs": len(numbers), "mean": float(numbers.mean()),
            "std": float(numbers.std(ddof=1)) if len(numbers) > 1 else 0.0,
            "min": float(numbers.min()), "max": float(numbers.max()),
        })
    return summary


def judge_claim(rows, better, worse, metric="swd", lower_is_better=True):
    """Judge the claim "setting ``better`` scores better than setting ``worse``" over seeds.

    Returns a dict with the verdict and the numbers behind it. ``verdict`` is
    "confirmed" when every seed of ``better`` beats every seed of ``worse``.
    It is "refuted" when every seed of ``worse`` beats every seed of
    ``better``, and "it depends" when the two ranges overlap, so the seed
    decides. The dict also contains both settings' mean, standard deviation,
    minimum and maximum, and the difference of the means (positive when
    ``better`` is better).
    """
    stats = {entry["setting"]: entry for entry in summarize(rows, metric)}
    for label in (better, worse):
        if label not in stats:
            raise KeyError(f"no runs of setting {label!r} in the results; found {sorted(stats)}")
    good, bad = stats[better], stats[worse]
    sign = 1 if lower_is_better else -1
    if sign * good["max"] < sign * bad["min"]:
        verdict = "confirmed"
    elif sign * bad["max"] < sign * good["min"]:
        verdict = "refuted"
    else:
        verdict = "it depends"
    return {"verdict": verdict, "better": good, "worse": bad,
            "difference": sign * (bad["mean"] - good["mean"])}


def format_judgement(judged, metric="swd"):
    """Return a one-line account of a :func:`judge_claim` result with both settings' numbers."""
    good, bad = judged["better"], judged["worse"]
    return (f"{good['setting']!r} better than {bad['setting']!r}: {judged['verdict']} "
            f"({metric} {good['mean']:.3f} ± {good['std']:.3f}, range {good['min']:.3f}-{good['max']:.3f}, "
            f"against {bad['mean']:.3f} ± {bad['std']:.3f}, range {bad['min']:.3f}-{bad['max']:.3f})")


def format_summary(rows, metrics_to_show=("swd", "diversity")):
    """Return a plain-text table of :func:`summarize` for each metric."""
    lines = []
    for metric in metrics_to_show:
        summary = summarize(rows, metric)
        width = max([len("setting")] + [len(entry["setting"]) for entry in summary])
        lines.append(f"{metric}:")
        lines.append(f"  {'setting':<{width}}  runs    mean     std     min     max")
        for entry in summary:
            lines.append(f"  {entry['setting']:<{width}}  {entry['runs']:>4}  {entry['mean']:6.4f}  "
                         f"{entry['std']:6.4f}  {entry['min']:6.4f}  {entry['max']:6.4f}")
    return "\n".join(lines)


def _copy_matching_run(results_dir, setting, seed, steps, batch_size, grid_path):
    """Copy a finished run of the same changes, seed and budget from another experiment.

    Copies its sample grid to ``grid_path`` and returns its row, or returns None
    when no table has such a run.
    """
    key = (setting.describe(), str(seed), str(steps), str(batch_size))
    for table in sorted(Path(results_dir).glob("*/results.csv")):
        for row in read_results(table):
            if (row["changes"], row["seed"], row["steps"], row["batch_size"]) != key:
                continue
            source = sample_grid_path(table.parent, row["setting"], seed)
            if not source.exists():
                continue
            with plotting.atomic_path(grid_path) as temporary:
                temporary.write_bytes(source.read_bytes())
            return row
    return None


def _file_stem(label):
    stem = "".join(c if c.isalnum() else "-" for c in label.lower())
    return "-".join(part for part in stem.split("-") if part)


def _machine():
    return f"{platform.machine()} {os.cpu_count()} CPUs"

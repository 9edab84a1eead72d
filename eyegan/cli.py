"""Command line: ``python -m eyegan train``, ``sample`` and ``experiment``."""

import argparse
import dataclasses
import logging
import re
import sys
import time
from pathlib import Path

from eyegan import data, pretrained

log = logging.getLogger("eyegan")

# Preset that 'train' starts from; see eyegan.training.PRESETS.
DEFAULT_PRESET = "recommended"

# File in a run folder that names the data the run trained on.
DATA_SOURCE_FILE = "data_source.txt"


class UsageError(Exception):
    """A command-line input that cannot work; the message names it and the fix."""

# Help text for each TrainConfig field; every field becomes an option.
CONFIG_HELP = {
    "batch_size": "real images per discriminator step",
    "epochs": "passes over the training images",
    "steps_per_epoch": "batches per epoch, repeating the images as needed; unset, one pass",
    "latent_dim": "size of the generator's noise vector",
    "generator_lr": "Adam learning rate of the generator",
    "discriminator_lr": "Adam learning rate of the discriminator",
    "beta_1": "Adam's beta1 for both networks",
    "generator_steps": "generator updates per discriminator update",
    "real_label": "discriminator target for real images",
    "fake_label": "discriminator target for generated images",
    "generator_label": "target the generator pushes its fakes' scores towards",
    "separate_batches": "train the discriminator on separate all-real and all-fake batches",
    "frozen_batch_norm": "how the network a step does not update normalises: with the batch's "
                         "statistics or with its moving averages",
    "generator_batch_norm": "use batch normalization in the generator",
    "discriminator_batch_norm": "use batch normalization in the discriminator",
    "seed": "seed for weights, noise and shuffling",
    "precision": "Keras dtype policy of the hidden layers: float32, mixed_bfloat16, or auto "
                 "(mixed_bfloat16 on GPUs of compute capability 8.0 or newer, else float32)",
    "jit_compile": "compile the training step with XLA; unset, only when a GPU is present",
}


def _add_config_options(parser):
    from eyegan.training import FROZEN_BATCH_NORM_MODES, PRECISIONS, PRESETS, TrainConfig

    parser.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET,
                        help="starting configuration that the options below change: 'reference' is the "
                             "reference regime, 'recommended' the configuration the book's experiments "
                             "favour (default: %(default)s)")
    choices = {"precision": PRECISIONS, "frozen_batch_norm": FROZEN_BATCH_NORM_MODES}
    group = parser.add_argument_group(
        "training configuration (each default is the preset's value; shown: reference / recommended)")
    # SUPPRESS leaves options that were not given out of the namespace, so the
    # preset supplies their values.
    for field in dataclasses.fields(TrainConfig):
        option = "--" + field.name.replace("_", "-")
        values = [getattr(PRESETS[name], field.name) for name in ("reference", "recommended")]
        default_text = values[0] if values[0] == values[1] else f"{values[0]} / {values[1]}"
        help_text = f"{CONFIG_HELP[field.name]} (default: {default_text})"
        default = values[0]
        if isinstance(default, bool) or field.name == "jit_compile":
            group.add_argument(option, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=help_text)
        elif field.name == "steps_per_epoch":
            group.add_argument(option, type=positive_int, default=argparse.SUPPRESS, metavar="N", help=help_text)
        elif field.name in choices:
            group.add_argument(option, choices=choices[field.name], default=argparse.SUPPRESS, help=help_text)
        else:
            group.add_argument(option, type=type(default), default=argparse.SUPPRESS,
                               metavar="N" if isinstance(default, int) else "X", help=help_text)


def positive_int(text):
    """Parse a command-line integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser():
    """Return the argument parser of the ``eyegan`` command."""
    from eyegan.training import TrainConfig

    parser = argparse.ArgumentParser(
        prog="python -m eyegan", description="Train an eye GAN and draw samples from it.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging details")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train the GAN and write checkpoints, history and sample grids",
        description="Train the GAN. Writes to --out: config.json, history.csv, samples/epoch_NNNN.png, "
                    "samples.gif, checkpoints/, generator.keras and discriminator.keras. "
                    "Running again with the same --out resumes from the latest checkpoint.")
    train.add_argument("--data", metavar="PATH",
                       help=f"real_gaze.h5, gaze.h5 or a folder of 35x55 PNG/JPEG patches "
                            f"(default: ${data.DATA_ENV_VAR}, else patches drawn by the built-in renderer)")
    train.add_argument("--out", metavar="DIR", type=Path, default=Path("runs/eyegan"),
                       help="output folder (default: runs/eyegan)")
    train.add_argument("--rendered", metavar="N", type=positive_int, default=data.DEFAULT_RENDER_COUNT,
                       help="patches to render when no data is given (default: %(default)s)")
    train.add_argument("--limit", metavar="N", type=positive_int,
                       help="train on the first N patches only (default: all)")
    train.add_argument("--restart", action="store_true",
                       help="start over instead of resuming from a checkpoint in --out")
    _add_config_options(train)

    sample = commands.add_parser(
        "sample", help="draw a grid of generated eyes from a checkpoint",
        description="Draw --n eyes from a saved generator into a PNG grid, one noise vector per tile.")
    sample.add_argument("--checkpoint", metavar="PATH", type=Path,
                        help="a generator .keras file, or a run folder containing generator.keras "
                             f"(default: ${pretrained.WEIGHTS_ENV_VAR}, else the generator shipped with eyegan)")
    sample.add_argument("--n", metavar="N", type=positive_int, default=64, help="eyes to draw (default: 64)")
    sample.add_argument("--seed", metavar="N", type=int, default=0, help="noise seed (default: 0)")
    sample.add_argument("--columns", metavar="N", type=positive_int, help="grid columns (default: square-ish)")
    sample.add_argument("--scale", metavar="N", type=positive_int, default=2,
                        help="enlarge the PNG N times (default: 2)")
    sample.add_argument("--out", metavar="PNG", type=Path, default=Path("grid.png"),
                        help="output PNG (default: grid.png)")

    _add_experiment_parser(commands)
    return parser


def _add_experiment_parser(commands):
    from eyegan import experiments

    experiment = commands.add_parser(
        "experiment", help="run or report a named multi-seed comparison of training settings",
        description="Named experiments: " + "; ".join(
            f"{e.name}: {e.question}" for e in experiments.EXPERIMENTS.values()))
    actions = experiment.add_subparsers(dest="action", required=True)
    results_help = f"folder of the experiments' results (default: {experiments.RESULTS_DIR})"

    run = actions.add_parser(
        "run", help="train every setting x seed missing from the experiment's results table",
        description="Train each setting of the experiment for each seed, score the eyes and add a row to "
                    "RESULTS/NAME/results.csv, with a sample grid in RESULTS/NAME/samples/. "
                    "Runs already in the table are skipped, so an interrupted run resumes.")
    run.add_argument("name", choices=sorted(experiments.EXPERIMENTS), help="experiment to run")
    run.add_argument("--seeds", metavar="N", type=int, nargs="+", default=list(experiments.SEEDS),
                     help="training seeds (default: %(default)s)")
    run.add_argument("--setting", metavar="LABEL", action="append", dest="settings",
                     help="run only this setting; repeat for several (default: all)")
    run.add_argument("--steps", metavar="N", type=positive_int, default=experiments.BUDGET_STEPS,
                     help="discriminator steps per run (default: %(default)s)")
    run.add_argument("--batch-size", metavar="N", type=positive_int, default=experiments.BUDGET_BATCH,
                     help="real images per discriminator step (default: %(default)s)")
    run.add_argument("--results", metavar="DIR", type=Path, default=experiments.RESULTS_DIR, help=results_help)

    report = actions.add_parser(
        "report", help="print mean, standard deviation, minimum and maximum per setting",
        description="Summarise RESULTS/NAME/results.csv over seeds, one table per metric.")
    report.add_argument("name", choices=sorted(experiments.EXPERIMENTS), help="experiment to report")
    report.add_argument("--metric", action="append", dest="metrics", choices=experiments.SUMMARY_COLUMNS,
                        help="column to summarise; repeat for several (default: swd and diversity)")
    report.add_argument("--results", metavar="DIR", type=Path, default=experiments.RESULTS_DIR, help=results_help)


def config_from_args(args):
    """Return the TrainConfig of parsed ``train`` arguments: the preset with the given options applied."""
    from eyegan.training import PRESETS, TrainConfig

    options = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}
    try:
        return PRESETS[args.preset].replace(**options)
    except ValueError as error:
        # Name the option the user typed rather than the config field behind it.
        message = re.sub(r"TrainConfig\.(\w+)", lambda m: "--" + m.group(1).replace("_", "-"), str(error))
        raise UsageError(message) from None


def run_train(args):
    """Load the data, train, and report where the outputs went."""
    from eyegan import plotting
    from eyegan.training import train_gan

    config = config_from_args(args)
    patches = data.load_patches(args.data, n_default=args.rendered, seed=config.seed)
    images = patches.images if args.limit is None else patches.images[:args.limit]
    log.info("training on %d patches from %s", len(images), patches.source)
    if len(images) < config.batch_size:
        raise UsageError(f"{len(images)} patches are fewer than one batch of {config.batch_size}; "
                         "lower --batch-size, or raise --rendered or --limit")

    started = time.perf_counter()
    run = train_gan(data.preprocess(images), config, args.out, resume=not args.restart)
    # Recorded so that tools/export_weights.py can tell rendered from downloaded data.
    with plotting.atomic_path(args.out / DATA_SOURCE_FILE) as temporary:
        temporary.write_text(f"{patches.source}\n")
    minutes = (time.perf_counter() - started) / 60
    print(f"trained up to epoch {config.epochs} in {minutes:.1f} min; outputs in {args.out}/")
    print(f"  fixed-noise samples: {args.out / 'samples.gif'}")
    print(f"  sample more with: python -m eyegan sample --checkpoint {args.out} --out grid.png")


def run_sample(args):
    """Draw ``args.n`` eyes from a saved generator into a PNG grid."""
    import numpy as np

    from eyegan import plotting
    from eyegan._tf import keras

    checkpoint = args.checkpoint or pretrained.weights_dir()
    path = checkpoint / "generator.keras" if checkpoint.is_dir() else checkpoint
    if not path.is_file():
        raise UsageError(f"no generator found at {path}; pass a generator .keras file "
                         "or a folder written by 'python -m eyegan train'")
    if args.out.suffix.lower() != ".png":
        raise UsageError(f"--out {args.out} must end in .png: the grid is written as PNG")
    try:
        generator = keras.models.load_model(path, compile=False)
    except (OSError, ValueError) as error:
        raise UsageError(f"{path} could not be loaded as a Keras model ({error}); "
                         "pass a generator.keras written by 'python -m eyegan train'") from None
    if len(generator.input_shape) != 2 or tuple(generator.output_shape[1:]) != data.IMAGE_SHAPE:
        raise UsageError(f"{path} maps {generator.input_shape} to {generator.output_shape}, which is not "
                         f"a generator of {data.IMAGE_SHAPE} images; pass generator.keras, not discriminator.keras")
    noise = np.random.default_rng(args.seed).standard_normal((args.n, generator.input_shape[-1]))
    images = generator(noise.astype(np.float32), training=False)
    grid = plotting.image_grid(plotting.to_uint8(np.asarray(images)), args.columns)
    plotting.save_png(grid, args.out, scale=args.scale)
    print(f"wrote {args.n} eyes to {args.out}")


def run_experiment_command(args):
    """Run or report an experiment."""
    from eyegan import experiments

    table = experiments.experiment_dir(args.name, args.results) / "results.csv"
    if args.action == "report":
        rows = experiments.read_results(table)
        if not rows:
            raise UsageError(f"{table} has no results yet; run 'python -m eyegan experiment run {args.name}'")
        print(experiments.format_summary(rows, args.metrics or ("swd", "diversity")))
        return
    experiment = experiments.get_experiment(args.name)
    for label in args.settings or ():
        try:
            experiment.setting(label)
        except KeyError as error:
            raise UsageError(f"invalid --setting: {error.args[0]}") from None
    started = time.perf_counter()
    experiments.run_experiment(args.name, results_dir=args.results, seeds=args.seeds, settings=args.settings,
                               steps=args.steps, batch_size=args.batch_size)
    minutes = (time.perf_counter() - started) / 60
    print(f"experiment {args.name} done in {minutes:.1f} min; results in {table}")
    print(experiments.format_summary(experiments.read_results(table)))


def main(argv=None):
    """Run the ``eyegan`` command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    # Other libraries' INFO records (absl's, for one) would drown the package's own.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        if args.command == "train":
            run_train(args)
        elif args.command == "sample":
            run_sample(args)
        else:
            run_experiment_command(args)
    except (UsageError, data.DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0

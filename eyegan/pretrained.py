"""The trained generator that ships with the package, and the run that made it.

``eyegan/weights/`` is a training-run folder as :func:`eyegan.training.train_gan`
writes it, cut down to what readers need: ``generator.keras``, ``config.json``,
``history.csv`` and ``samples/epoch_NNNN.png``. ``make weights`` makes it by
training the recommended configuration on rendered eyes (see the Makefile).
The ``EYEGAN_WEIGHTS`` environment variable points the functions here at
another run folder, for example one written by ``python -m eyegan train``.
"""

import json
import os
from pathlib import Path

from eyegan import callbacks, plotting

WEIGHTS_ENV_VAR = "EYEGAN_WEIGHTS"
PACKAGED_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def weights_dir():
    """Return the run folder in use: ``$EYEGAN_WEIGHTS`` if set, else the packaged one."""
    return Path(os.environ.get(WEIGHTS_ENV_VAR) or PACKAGED_WEIGHTS_DIR)


def _require(path):
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found; run 'make weights' in a clone of the repository, or set "
            f"{WEIGHTS_ENV_VAR} to a folder written by 'python -m eyegan train'")
    return path


def load_generator():
    """Load the trained generator (a Keras model from 64-d noise to (32, 64, 1) images)."""
    # NOTE: the shipped file was saved by Keras 3.15; loading it with much older
    # Keras 3 releases (as on a Colab image that lags behind) is untested.
    from eyegan._tf import keras

    return keras.models.load_model(_require(weights_dir() / "generator.keras"), compile=False)


def load_config():
    """Return the training configuration of the weights' run as a dict."""
    return json.loads(_require(weights_dir() / "config.json").read_text())


def load_history():
    """Return the per-epoch history of the weights' run (metric name to list of values)."""
    return callbacks.read_history(_require(weights_dir() / "history.csv"))


def load_epoch_grids():
    """Return the run's fixed-noise grids as ``{epoch: uint8 picture}``; epoch 0 is untrained."""
    folder = _require(weights_dir() / "samples")
    grids = {int(path.stem.split("_")[1]): plotting.load_png(path) for path in sorted(folder.glob("epoch_*.png"))}
    if not grids:
        raise FileNotFoundError(f"{folder} contains no epoch_NNNN.png grids; run 'make weights' again")
    return grids

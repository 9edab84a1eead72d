"""Keras callbacks that record a GAN run: sample grids, a history CSV, checkpoints.

Each callback expects to be attached to an :class:`eyegan.training.EyeGAN`.
"""

import csv
import logging
import math
import time
from pathlib import Path

import numpy as np

from eyegan import plotting
from eyegan._tf import keras, tf

log = logging.getLogger(__name__)

# Columns of the history CSV after "epoch", in this order.
HISTORY_METRICS = ("d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")


class SampleGrid(keras.callbacks.Callback):
    """Draw the same noise batch through the generator after every epoch.

    Grids go to ``directory/epoch_NNNN.png`` (epoch 0 is the untrained
    generator) and stay in ``self.grids`` as uint8 arrays keyed by epoch, so
    one set of eyes can be followed as training improves it. Keeping the noise
    fixed is what makes the frames comparable. ``scale`` enlarges the PNGs.
    """

    def __init__(self, noise, directory=None, columns=None, scale=1):
        super().__init__()
        self.noise = np.asarray(noise, dtype=np.float32)
        self.directory = None if directory is None else Path(directory)
        self.columns = columns
        self.scale = scale
        self.grids = {}

    def draw(self):
        """Return the current generator's grid for the fixed noise, as uint8 pixels."""
        images = self.model.generator(self.noise, training=False)
        return plotting.image_grid(plotting.to_uint8(np.asarray(images)), self.columns)

    def _record(self, epoch):
        self.grids[epoch] = grid = self.draw()
        if self.directory is not None:
            plotting.save_png(grid, self.directory / f"epoch_{epoch:04d}.png", scale=self.scale)

    def on_train_begin(self, logs=None):
        if not self.grids:
            self._record(int(self.params.get("initial_epoch", 0) or 0))

    def on_epoch_end(self, epoch, logs=None):
        self._record(epoch + 1)


class HistoryCSV(keras.callbacks.Callback):
    """Rewrite ``path`` after every epoch with one row per epoch so far.

    Columns: epoch, the metrics in :data:`HISTORY_METRICS`, and ``seconds``,
    the epoch's wall time. Rows already in the file are kept, so a resumed run
    continues the same table.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.rows = read_history_rows(self.path) if self.path.exists() else []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {"epoch": epoch + 1}
        row.update({name: float(logs[name]) for name in HISTORY_METRICS if name in logs})
        row["seconds"] = round(time.perf_counter() - self.started, 3)
        self.rows = [r for r in self.rows if int(r["epoch"]) < epoch + 1] + [row]
        with plotting.atomic_path(self.path) as temporary:
            with open(temporary, "w", newline="") as handle:
                writer = csv.DictWriter(handle, ["epoch", *HISTORY_METRICS, "seconds"])
                writer.writeheader()
                writer.writerows(self.rows)


def read_history_rows(path):
    """Read a history CSV written by :class:`HistoryCSV` into a list of dicts.

    ``epoch`` is an int; every other column is a float.
    """
    with open(path, newline="") as handle:
        return [{key: int(value) if key == "epoch" else float(value) for key, value in row.items()}
                for row in csv.DictReader(handle)]


def read_history(path):
    """Read a history CSV into ``{column: [value per epoch]}``, as ``History.history`` is."""
    rows = read_history_rows(path)
    return {key: [row[key] for row in rows] for key in (rows[0] if rows else {})}


class GANCheckpoint(keras.callbacks.Callback):
    """Save both networks and both optimizers' state after every finite epoch.

    ``directory/checkpoints/`` contains TensorFlow checkpoints of the generator,
    the discriminator, their optimizers and the epoch count (the latest
    ``max_to_keep``), from which :func:`eyegan.training.train_gan` resumes.
    ``directory/generator.keras`` and ``directory/discriminator.keras`` hold
    the latest networks for ``keras.models.load_model``.

    A non-finite loss stops training at the end of that batch, and nothing is
    saved from then on, so the last checkpoint is the last finite state.
    """

    def __init__(self, directory, max_to_keep=3):
        super().__init__()
        self.directory = Path(directory)
        self.max_to_keep = max_to_keep
        self.diverged = False

    def set_model(self, model):
        super().set_model(model)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.checkpoint = tf.train.Checkpoint(
            generator=model.generator, discriminator=model.discriminator,
            g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer, epoch=self.epoch)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.directory / "checkpoints", max_to_keep=self.max_to_keep)

    def restore_latest(self):
        """Load the latest checkpoint, if any, and return its epoch count (0 if none)."""
        if self.manager.latest_checkpoint is None:
            return 0
        model = self.model
        # Optimizers create their moment variables lazily; build them first so
        # that the checkpoint's values land in them instead of being dropped.
        model.g_optimizer.build(model.generator.trainable_variables)
        model.d_optimizer.build(model.discriminator.trainable_variables)
        self.checkpoint.restore(self.manager.latest_checkpoint).assert_existing_objects_matched()
        log.info("resumed from %s (epoch %d)", self.manager.latest_checkpoint, int(self.epoch.numpy()))
        return int(self.epoch.numpy())

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: v for k, v in (logs or {}).items() if not math.isfinite(float(v))}
        if bad and not self.diverged:
            log.error("non-finite loss at batch %d: %s; stopping without saving", batch, bad)
            self.diverged = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged:
            return
        self.epoch.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1)
        for name in ("generator", "discriminator"):
            network = getattr(self.model, name)
            with plotting.atomic_path(self.directory / f"{name}.keras") as temporary:
                network.save(temporary)

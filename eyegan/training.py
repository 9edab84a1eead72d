"""Adversarial training of the eye GAN as a Keras model trained with ``fit()``.

The reference regime, which :class:`TrainConfig`'s defaults reproduce:

* the discriminator takes one optimizer step on an all-real batch (target 0.9)
  and then one on an all-fake batch (target 0.1), so batch normalization never
  mixes real and fake statistics;
* the generator then takes 5 steps, each on fresh noise, through the
  discriminator, whose weights stay fixed;
* both networks use Adam with beta1 0.5; the generator's learning rate is 5e-5
  and the discriminator's 0.02; batches hold 300 real images.

How a network that a step does not update normalises its batch is a choice
(``TrainConfig.frozen_batch_norm``). The default, "batch", normalises with the
current batch's statistics and leaves the network's moving averages untouched.
"moving" uses the moving averages, as Keras's ``predict`` and a stacked model
with a frozen discriminator do. The discriminator the generator trains against
then differs from the one being trained: on 3,000 rendered eyes the generator's
loss fell below 1e-3 within 10 epochs and it drew one fixed checkerboard.
"""

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

from eyegan import callbacks as eyegan_callbacks
from eyegan import models, plotting
from eyegan._tf import keras, tf

log = logging.getLogger(__name__)

# Values TrainConfig.precision accepts: "auto" or a Keras dtype policy. float16
# would also need loss scaling, which the training step does not do.
PRECISIONS = ("auto", "float32", "mixed_bfloat16")
# GPUs of this CUDA compute capability or newer (Ampere on) compute in bfloat16
# natively; older ones, such as Colab's T4 (7.5), would emulate it slowly.
BFLOAT16_MIN_COMPUTE_CAPABILITY = (8, 0)

# Values TrainConfig.frozen_batch_norm accepts.
FROZEN_BATCH_NORM_MODES = ("batch", "moving")

# Noise vectors in the fixed sample grid (a 6x6 grid).
SAMPLE_COUNT = 36


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every choice of a training run; the defaults are the reference regime."""

    batch_size: int = 300
    epochs: int = 10
    # Batches per epoch; None makes an epoch one pass over the images. Set it to
    # give runs a fixed budget of steps whatever the dataset size: the images
    # are then reshuffled and repeated as needed.
    steps_per_epoch: int | None = None
    latent_dim: int = models.LATENT_DIM
    generator_lr: float = 5e-5
    discriminator_lr: float = 0.02
    # Adam's first-moment decay. DCGAN found 0.5 steadier than the default 0.9.
    beta_1: float = 0.5
    # Generator steps per discriminator step, each on fresh noise.
    generator_steps: int = 5
    # Label smoothing on both sides: targets 0.9 for real and 0.1 for fake
    # images, instead of 1 and 0, keep the discriminator from becoming
    # over-confident.
    real_label: float = 0.9
    fake_label: float = 0.1
    # Target for the generator's fakes: 1.0 gives the non-saturating loss -log D(G(z)).
    generator_label: float = 1.0
    # True: separate all-real and all-fake discriminator steps. False: one step
    # on a shuffled half-real, half-fake batch (an ablation).
    separate_batches: bool = True
    # How the network that a step does not update normalises: "batch" (current
    # batch statistics) or "moving" (its moving averages). See the module doc.
    frozen_batch_norm: str = "batch"
    generator_batch_norm: bool = True
    discriminator_batch_norm: bool = True
    seed: int = 0
    # Keras dtype policy of the hidden layers: "float32" (the reference),
    # "mixed_bfloat16", or "auto" (see resolve_precision). bfloat16 runs the
    # convolutions at half width, which is fast on CPUs with AMX or AVX512-BF16
    # and on recent GPUs, and has float32's exponent range, so it needs no loss
    # scaling. Outputs and losses stay float32 either way.
    precision: str = "auto"
    # None compiles with XLA only when a GPU is present: on a CPU XLA made the
    # reference step about 6x slower (TensorFlow 2.21, 2 cores).
    jit_compile: bool | None = None

    def __post_init__(self):
        for name in ("batch_size", "epochs", "latent_dim", "generator_steps", "steps_per_epoch"):
            value = getattr(self, name)
            if name == "steps_per_epoch" and value is None:
                continue
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {value!r}")
        for name in ("generator_lr", "discriminator_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TrainConfig.{name} must be positive, got {getattr(self, name)!r}")
        if not 0 <= self.beta_1 < 1:
            raise ValueError(f"TrainConfig.beta_1 must lie in [0, 1), got {self.beta_1!r}")
        if self.frozen_batch_norm not in FROZEN_BATCH_NORM_MODES:
            raise ValueError(f"TrainConfig.frozen_batch_norm must be one of {FROZEN_BATCH_NORM_MODES}, "
                             f"got {self.frozen_batch_norm!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"TrainConfig.precision must be one of {PRECISIONS}, got {self.precision!r}")
        for name in ("real_label", "fake_label", "generator_label"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"TrainConfig.{name} must lie in [0, 1], got {getattr(self, name)!r}")

    def replace(self, **changes):
        """Return a copy with ``changes`` applied (validated like a new config)."""
        return dataclasses.replace(self, **changes)


# Starting configurations of the command line ("--preset") and the book.
PRESETS = {
    "reference": TrainConfig(),
    # The reference with the learning rates that scored best at an equal budget
    # of steps (and so of compute) in the learning-rate experiment: a generator
    # 4 times faster and a discriminator 10 times slower than the reference's.
    "recommended": TrainConfig(generator_lr=2e-4, discriminator_lr=2e-3),
}


def gpu_available():
    """Return whether TensorFlow finds at least one GPU."""
    return bool(tf.config.list_physical_devices("GPU"))


def resolve_precision(precision):
    """Return the Keras dtype policy that ``precision`` stands for.

    "auto" becomes "mixed_bfloat16" when every GPU TensorFlow finds has CUDA
    compute capability 8.0 or newer, and "float32" otherwise, CPUs included:
    float32 is what the reference measured and what runs identically anywhere.
    Other values are returned unchanged.
    """
    if precision != "auto":
        return precision
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "float32"
    capabilities = [tf.config.experimental.get_device_details(gpu).get("compute_capability") for gpu in gpus]
    if all(c is not None and tuple(c) >= BFLOAT16_MIN_COMPUTE_CAPABILITY for c in capabilities):
        return "mixed_bfloat16"
    return "float32"


class EyeGAN(keras.Model):
    """A generator and a discriminator trained against each other by ``fit()``.

    ``fit`` takes batches of real images, float32 of shape (batch, 32, 64, 1)
    normalised as the generator's tanh output is. Each batch makes one
    discriminator update (two optimizer steps when ``separate_batches``) followed
    by ``generator_steps`` generator updates. Logged metrics, averaged over the
    epoch: ``d_loss_real``, ``d_loss_fake``, ``g_loss`` (binary cross-entropy),
    and ``d_real`` and ``d_fake``, the discriminator's mean output on the real
    and on the fake batch.
    """

    def __init__(self, generator, discriminator, config=TrainConfig(), **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.config = config
        self.latent_dim = generator.input_shape[-1]
        # Noise comes from Keras's stateful seed generator, so it is repeatable
        # for a seed and fresh on every call, also inside the compiled step.
        self.noise_seed = keras.random.SeedGenerator(config.seed)
        self.bce = keras.losses.BinaryCrossentropy()
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")
        }

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Set the two optimizers; by default Adam with the config's rates and beta1."""
        config = self.config
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(
            config.discriminator_lr, beta_1=config.beta_1)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(
            config.generator_lr, beta_1=config.beta_1)
        if "jit_compile" not in kwargs:
            kwargs["jit_compile"] = gpu_available() if config.jit_compile is None else config.jit_compile
        super().compile(**kwargs)

    @property
    def metrics(self):
        # Listing the trackers lets Keras reset them at each epoch start.
        return list(self.trackers.values())

    def sample_noise(self, batch_size):
        """Draw a (batch_size, latent_dim) batch of standard normal noise."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.noise_seed)

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def _call_frozen(self, network, inputs):
        """Run a network that the current step does not update, leaving its state as it was."""
        if self.config.frozen_batch_norm == "moving":
            return network(inputs, training=False)
        # Batch statistics in training mode would also move the batch-norm
        # averages; put them back so that the step changes no state of `network`.
        averages = [tf.identity(v) for v in network.non_trainable_variables]
        outputs = network(inputs, training=True)
        with tf.control_dependencies([outputs]):
            for variable, value in zip(network.non_trainable_variables, averages):
                variable.assign(value)
        return outputs

    def _discriminator_update(self, images, targets):
        with tf.GradientTape() as tape:
            predictions = self.discriminator(images, training=True)
            loss = self.bce(targets, predictions)
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss, predictions

    def discriminator_step(self, real):
        """Update the discriminator on a batch of real images and as many fakes.

        Returns ``(loss_real, loss_fake, mean output on real, mean output on fake)``.
        The generator's weights and batch-norm statistics are left untouched.
        """
        config = self.config
        batch_size = tf.shape(real)[0]
        fake = self._call_frozen(self.generator, self.sample_noise(batch_size))
        real_targets = tf.fill((batch_size, 1), config.real_label)
        fake_targets = tf.fill((batch_size, 1), config.fake_label)

        if config.separate_batches:
            loss_real, on_real = self._discriminator_update(real, real_targets)
            loss_fake, on_fake = self._discriminator_update(fake, fake_targets)
        else:
            # One step on real and fake together: batch norm then normalises
            # with statistics of the mixture.
            _, predictions = self._discriminator_update(
                tf.concat([real, fake], axis=0), tf.concat([real_targets, fake_targets], axis=0))
            on_real, on_fake = predictions[:batch_size], predictions[batch_size:]
            loss_real = self.bce(real_targets, on_real)
            loss_fake = self.bce(fake_targets, on_fake)
        return loss_real, loss_fake, tf.reduce_mean(on_real), tf.reduce_mean(on_fake)

    def generator_step(self, batch_size):
        """Update the generator once on fresh noise; return its loss.

        The discriminator's weights and batch-norm averages are left untouched,
        as in the reference's stacked model with the discriminator frozen.
        """
        noise = self.sample_noise(batch_size)
        with tf.GradientTape() as tape:
            predictions = self._call_frozen(self.discriminator, self.generator(noise, training=True))
            targets = tf.fill(tf.shape(predictions), self.config.generator_label)
            loss = self.bce(targets, predictions)
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    def train_step(self, real):
        loss_real, loss_fake, on_real, on_fake = self.discriminator_step(real)
        batch_size = tf.shape(real)[0]
        # A Python loop: the compiled step contains generator_steps unrolled updates.
        g_losses = [self.generator_step(batch_size) for _ in range(self.config.generator_steps)]

        values = {
            "d_loss_real": loss_real,
            "d_loss_fake": loss_fake,
            "g_loss": tf.add_n(g_losses) / len(g_losses),
            "d_real": on_real,
            "d_fake": on_fake,
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def build_eyegan(config=TrainConfig()):
    """Build and compile an :class:`EyeGAN` with fresh networks for ``config``.

    Weights are initialised from ``config.seed``, so two calls with the same
    config start from identical networks.
    """
    keras.utils.set_random_seed(config.seed)
    precision = resolve_precision(config.precision)
    log.info("building networks with dtype policy %s", precision)
    generator = models.build_generator(
        config.latent_dim, batch_norm=config.generator_batch_norm, seed=config.seed, dtype=precision)
    discriminator = models.build_discriminator(
        batch_norm=config.discriminator_batch_norm, seed=config.seed + 1000, dtype=precision)
    gan = EyeGAN(generator, discriminator, config)
    gan.compile()
    return gan


def make_dataset(images, batch_size, seed=0, *, repeat=False):
    """Wrap preprocessed images (n, 32, 64, 1) in a shuffled, batched ``tf.data`` pipeline.

    Incomplete last batches are dropped, so every step gets ``batch_size``
    images. With ``repeat`` the pipeline reshuffles and repeats without end.
    Raises ValueError when there are fewer images than one batch.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1:] != models.IMAGE_SHAPE:
        raise ValueError(
            f"expected preprocessed images of shape (n, 32, 64, 1), got {images.shape}; "
            "run eyegan.data.preprocess on the raw patches first")
    if len(images) < batch_size:
        raise ValueError(
            f"{len(images)} images are fewer than one batch of {batch_size}; "
            "lower batch_size or load more images")
    dataset = tf.data.Dataset.from_tensor_slices(images)
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass
class TrainingRun:
    """Result of :func:`train_gan`: the trained model and what it recorded.

    ``history`` maps each metric to its per-epoch values (all epochs of the run
    directory when resumed); ``grids`` maps each epoch (0 = untrained) to the
    fixed-noise sample grid as uint8 pixels; ``out_dir`` is None when nothing
    was written.
    """

    gan: EyeGAN
    history: dict
    grids: dict
    out_dir: object = None


def fixed_noise(config, count=SAMPLE_COUNT):
    """Return the (count, latent_dim) noise batch drawn for sample grids, fixed by the seed."""
    rng = np.random.default_rng(config.seed)
    return rng.standard_normal((count, config.latent_dim)).astype(np.float32)


def train_gan(images, config=TrainConfig(), out_dir=None, *, verbose="auto", callbacks=(), resume=True):
    """Train a fresh :class:`EyeGAN` on preprocessed images for ``config.epochs`` epochs.

    ``images`` is float32 (n, 32, 64, 1), as :func:`eyegan.data.preprocess`
    returns, with n >= ``config.batch_size``. With ``out_dir``, the run writes
    there: ``config.json``, ``history.csv``, ``samples/epoch_NNNN.png`` (the
    fixed-noise grid per epoch), ``samples.gif``, ``checkpoints/`` and the
    latest ``generator.keras`` and ``discriminator.keras``. When ``resume`` is
    true and ``out_dir`` contains a checkpoint of the same config, training
    continues from it up to ``config.epochs``; a different config raises
    ValueError rather than mixing two runs. ``verbose`` is passed to ``fit``.
    """
    gan = build_eyegan(config)
    grid = eyegan_callbacks.SampleGrid(
        fixed_noise(config), None if out_dir is None else Path(out_dir) / "samples")
    run_callbacks = [grid]
    initial_epoch = 0

    if out_dir is not None:
        out_dir = Path(out_dir)
        _write_config(config, out_dir / "config.json", resume)
        checkpoint = eyegan_callbacks.GANCheckpoint(out_dir)
        checkpoint.set_model(gan)
        if resume:
            initial_epoch = checkpoint.restore_latest()
        if initial_epoch == 0:
            _remove_previous_outputs(out_dir)
        history_csv = eyegan_callbacks.HistoryCSV(out_dir / "history.csv")
        run_callbacks += [history_csv, checkpoint]

    log.info("training %d epochs from epoch %d on %d images", config.epochs, initial_epoch, len(images))
    result = gan.fit(
        make_dataset(images, config.batch_size, config.seed, repeat=config.steps_per_epoch is not None),
        epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, initial_epoch=initial_epoch,
        shuffle=False,
        verbose=verbose, callbacks=[*run_callbacks, *callbacks],
    )

    history = result.history
    if out_dir is not None:
        history = eyegan_callbacks.read_history(out_dir / "history.csv")
        frames = [plotting.load_png(p) for p in sorted((out_dir / "samples").glob("epoch_*.png"))]
        if frames:
            plotting.save_gif(frames, out_dir / "samples.gif")
    return TrainingRun(gan, history, grid.grids, out_dir)


def _remove_previous_outputs(out_dir):
    # A fresh start must not mix its history or frames with an older run's.
    for stale in [out_dir / "history.csv", *(out_dir / "samples").glob("epoch_*.png")]:
        stale.unlink(missing_ok=True)


def _write_config(config, path, resume):
    text = json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True)
    if resume and path.exists():
        saved = json.loads(path.read_text())
        differences = {k: (saved.get(k), v) for k, v in dataclasses.asdict(config).items()
                       if k != "epochs" and saved.get(k) != v}
        if differences:
            raise ValueError(
                f"{path} was written by a run with another configuration "
                f"(saved, requested): {differences}; use another output folder "
                "or start over with resume=False (--restart on the command line)")
    with plotting.atomic_path(path) as temporary:
        temporary.write_text(text + "\n")

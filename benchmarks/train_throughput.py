"""Real images per second of the fit() training path against a reference-style loop.

Usage: python benchmarks/train_throughput.py [--batches 300 64] [--steps 8] [--repeats 3]

Both paths train the same architecture with the same regime. For each batch of
real images, the discriminator takes one step on the real batch and one on a
batch of as many fakes. Then the generator takes 5 steps on fresh noise.

* fit(): eyegan.training.EyeGAN, one compiled train_step per batch, in
  float32 like the reference, and again with precision="mixed_bfloat16"
  (bfloat16 convolutions; fast on CPUs with AMX or AVX512-BF16).
* reference loop: the Keras idiom the reference used. ``generator.predict``
  makes the fakes, ``discriminator.train_on_batch`` runs on the real and on
  the fake batch, then ``gan.train_on_batch`` runs 5 times on the stacked model.

Each path is warmed up (traced) first; then the paths alternate, ``--repeats``
times each, and the best time of each is reported, so both see the same
machine load. Prints a table and the ratios fit() / reference per batch size.
"""

import argparse
import platform
import time

import numpy as np

from eyegan import data, models, training
from eyegan._tf import keras, tf


def reference_models(config):
    """Compile the generator, discriminator and stacked GAN as the reference did."""
    generator = models.build_generator(config.latent_dim, seed=config.seed)
    discriminator = models.build_discriminator(seed=config.seed + 1000)
    discriminator.compile(keras.optimizers.Adam(config.discriminator_lr, beta_1=config.beta_1),
                          loss="binary_crossentropy")
    gan = models.build_gan(generator, discriminator)
    gan.compile(keras.optimizers.Adam(config.generator_lr, beta_1=config.beta_1), loss="binary_crossentropy")
    return generator, discriminator, gan


def reference_epoch(generator, discriminator, gan, batches, config, rng):
    """Train one pass over ``batches`` with train_on_batch calls, as the reference loop did."""
    size = config.batch_size
    real_targets = np.full((size, 1), config.real_label, np.float32)
    fake_targets = np.full((size, 1), config.fake_label, np.float32)
    generator_targets = np.full((size, 1), config.generator_label, np.float32)
    for real in batches:
        fake = generator.predict(rng.standard_normal((size, config.latent_dim)).astype(np.float32), verbose=0)
        # Keras 3 reads `trainable` when a train function is first traced: the
        # discriminator's own function must see it trainable, the stack frozen.
        discriminator.trainable = True
        discriminator.train_on_batch(real, real_targets)
        discriminator.train_on_batch(fake, fake_targets)
        discriminator.trainable = False
        for _ in range(config.generator_steps):
            gan.train_on_batch(rng.standard_normal((size, config.latent_dim)).astype(np.float32),
                               generator_targets)


def time_call(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def measure(batch_size, steps, repeats):
    """Return real images/s of (fit float32, fit mixed_bfloat16, reference loop) at one batch size."""
    config = training.TrainConfig(batch_size=batch_size, seed=0)
    patches = data.load_patches(None, n_default=batch_size * steps, seed=0)
    images = data.preprocess(patches.images)
    batches = [images[i * batch_size:(i + 1) * batch_size] for i in range(steps)]
    dataset = training.make_dataset(images, batch_size).cache()

    def fit_path(precision):
        model = training.build_eyegan(config.replace(precision=precision))
        return lambda: model.fit(dataset, epochs=1, verbose=0, shuffle=False)

    reference = reference_models(config)
    rng = np.random.default_rng(0)
    paths = [fit_path("float32"), fit_path("mixed_bfloat16"),
             lambda: reference_epoch(*reference, batches, config, rng)]

    for path in paths:
        path()
    times = [[] for _ in paths]
    for _ in range(repeats):
        for path, path_times in zip(paths, times):
            path_times.append(time_call(path))
    return [batch_size * steps / min(path_times) for path_times in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 300],
                        help="batch sizes to measure (default: 64 300)")
    parser.add_argument("--steps", type=int, default=8, help="batches per timed pass (default: 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per path (default: 3)")
    args = parser.parse_args()

    devices = [d.device_type for d in tf.config.list_physical_devices()]
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {platform.processor() or platform.machine()}, "
          f"devices {devices}, XLA {'on' if training.gpu_available() else 'off'} for fit()")
    print("real images per second (best of the repeats); ratios are fit() / reference loop")
    print(f"{'batch':>6} {'reference':>10} {'fit f32':>8} {'fit bf16':>9} {'ratio f32':>10} {'ratio bf16':>11}")
    for batch_size in args.batches:
        fit_f32, fit_bf16, reference = measure(batch_size, args.steps, args.repeats)
        print(f"{batch_size:>6} {reference:>10.0f} {fit_f32:>8.0f} {fit_bf16:>9.0f} "
              f"{fit_f32 / reference:>10.2f} {fit_bf16 / reference:>11.2f}", flush=True)


if __name__ == "__main__":
    main()

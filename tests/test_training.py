import csv
import math

import numpy as np
import pytest
from PIL import Image

from eyegan import callbacks, data, training
from eyegan._tf import keras, tf

# Small batches keep each step fast; the regime is the same at batch 300.
BATCH = 16


@pytest.fixture(scope="module")
def real_images():
    return data.preprocess(data.load_patches(None, n_default=4 * BATCH, seed=1).images)


def snapshot(model):
    return [w.numpy().copy() for w in model.weights]


def changed(before, model):
    return [not np.array_equal(a, b.numpy()) for a, b in zip(before, model.weights)]


def names_of(model, changed_flags):
    return [w.path for w, is_changed in zip(model.weights, changed_flags) if is_changed]


@pytest.fixture(params=training.FROZEN_BATCH_NORM_MODES)
def gan(request):
    return training.build_eyegan(training.TrainConfig(batch_size=BATCH, seed=0, frozen_batch_norm=request.param))


def test_config_defaults_are_reference_regime():
    config = training.TrainConfig()
    assert config.batch_size == 300
    assert config.generator_steps == 5
    assert config.generator_lr == 5e-5
    assert config.discriminator_lr == 0.02
    assert config.beta_1 == 0.5
    assert (config.real_label, config.fake_label) == (0.9, 0.1)
    assert config.separate_batches is True


@pytest.mark.parametrize("field, value", [
    ("batch_size", 0), ("epochs", -1), ("generator_steps", 0), ("latent_dim", 2.5),
    ("generator_lr", 0.0), ("discriminator_lr", -1e-3), ("beta_1", 1.0), ("real_label", 1.5),
    ("steps_per_epoch", 0),
])
def test_config_rejects_bad_value(field, value):
    with pytest.raises(ValueError, match=field):
        training.TrainConfig(**{field: value})


def test_discriminator_step_updates_discriminator_only(gan, real_images):
    generator_before = snapshot(gan.generator)
    discriminator_before = snapshot(gan.discriminator)

    gan.discriminator_step(tf.constant(real_images[:BATCH]))

    assert names_of(gan.generator, changed(generator_before, gan.generator)) == []
    discriminator_changed = changed(discriminator_before, gan.discriminator)
    trainable = {w.path for w in gan.discriminator.trainable_weights}
    assert all(discriminator_changed[i] for i, w in enumerate(gan.discriminator.weights) if w.path in trainable)
    # Batch-norm moving statistics follow the batches it saw.
    assert any(discriminator_changed[i] for i, w in enumerate(gan.discriminator.weights) if "moving" in w.path)


def test_generator_step_updates_generator_only(gan):
    generator_before = snapshot(gan.generator)
    discriminator_before = snapshot(gan.discriminator)

    gan.generator_step(BATCH)

    assert names_of(gan.discriminator, changed(discriminator_before, gan.discriminator)) == []
    generator_changed = changed(generator_before, gan.generator)
    assert all(generator_changed[i] for i, w in enumerate(gan.generator.weights)
               if w.path in {t.path for t in gan.generator.trainable_weights})
    assert any(generator_changed[i] for i, w in enumerate(gan.generator.weights) if "moving" in w.path)


def test_generator_steps_per_batch(gan, real_images):
    gan.train_step(tf.constant(real_images[:BATCH]))
    # Two discriminator steps (real, fake) and five generator steps.
    assert int(gan.d_optimizer.iterations.numpy()) == 2
    assert int(gan.g_optimizer.iterations.numpy()) == 5


def test_mixed_batch_takes_one_discriminator_step(real_images):
    gan = training.build_eyegan(training.TrainConfig(batch_size=BATCH, separate_batches=False))
    logs = gan.train_step(tf.constant(real_images[:BATCH]))
    assert int(gan.d_optimizer.iterations.numpy()) == 1
    assert all(math.isfinite(float(v)) for v in logs.values())


def test_fit_losses_finite_and_moving(real_images):
    gan = training.build_eyegan(training.TrainConfig(batch_size=BATCH, seed=2))
    history = gan.fit(training.make_dataset(real_images, BATCH), epochs=3, verbose=0, shuffle=False).history
    for name in ("d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake"):
        assert all(math.isfinite(v) for v in history[name]), name
    assert history["g_loss"][0] != history["g_loss"][-1]
    assert history["d_real"][0] != history["d_real"][-1]
    assert all(0 < v < 1 for v in history["d_real"] + history["d_fake"])


def test_seed_repeats_first_step(real_images):
    batch = tf.constant(real_images[:BATCH])
    logs = [training.build_eyegan(training.TrainConfig(batch_size=BATCH, seed=5)).train_step(batch)
            for _ in range(2)]
    for name in logs[0]:
        assert float(logs[0][name]) == pytest.approx(float(logs[1][name]), rel=1e-5), name


def test_steps_per_epoch_repeats_images(real_images):
    config = training.TrainConfig(batch_size=BATCH, epochs=2, steps_per_epoch=7, generator_steps=1, seed=3)
    counted = []

    class CountBatches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            counted.append(batch)

    training.train_gan(real_images, config, verbose=0, callbacks=[CountBatches()])

    # 4 batches of images, 7 steps per epoch: the images repeat within an epoch.
    assert len(real_images) // BATCH == 4
    assert len(counted) == 14


def test_make_dataset_drops_partial_batch(real_images):
    batches = list(training.make_dataset(real_images[:BATCH * 2 + 3], BATCH))
    assert [b.shape[0] for b in batches] == [BATCH, BATCH]


def test_make_dataset_rejects_raw_patches():
    with pytest.raises(ValueError, match="preprocess"):
        training.make_dataset(np.zeros((20, 35, 55), np.uint8), 4)


def test_make_dataset_rejects_too_few_images(real_images):
    with pytest.raises(ValueError, match="fewer than one batch"):
        training.make_dataset(real_images[:3], BATCH)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, real_images):
    out_dir = tmp_path_factory.mktemp("run")
    config = training.TrainConfig(batch_size=BATCH, epochs=2, seed=4)
    return training.train_gan(real_images, config, out_dir, verbose=0), config


def test_run_writes_history_csv(finished_run):
    run, _ = finished_run
    with open(run.out_dir / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert set(callbacks.HISTORY_METRICS) <= set(rows[0])
    assert all(math.isfinite(float(r["g_loss"])) for r in rows)


def test_run_writes_grid_per_epoch(finished_run):
    run, _ = finished_run
    frames = sorted(p.name for p in (run.out_dir / "samples").glob("*.png"))
    assert frames == ["epoch_0000.png", "epoch_0001.png", "epoch_0002.png"]
    assert sorted(run.grids) == [0, 1, 2]
    # The untrained and the trained generator draw different pictures.
    assert not np.array_equal(run.grids[0], run.grids[2])


def test_run_writes_gif_with_all_frames(finished_run):
    run, _ = finished_run
    with Image.open(run.out_dir / "samples.gif") as gif:
        assert gif.n_frames == 3


def test_run_saves_loadable_generator(finished_run):
    run, config = finished_run
    generator = keras.models.load_model(run.out_dir / "generator.keras", compile=False)
    noise = training.fixed_noise(config, 4)
    expected = np.asarray(run.gan.generator(noise, training=False))
    assert np.allclose(np.asarray(generator(noise, training=False)), expected, atol=1e-6)


def test_run_checkpoints_keep_optimizer_state(finished_run):
    run, _ = finished_run
    assert (run.out_dir / "checkpoints" / "checkpoint").is_file()
    fresh = training.build_eyegan(run.gan.config)
    checkpoint = callbacks.GANCheckpoint(run.out_dir)
    checkpoint.set_model(fresh)
    assert checkpoint.restore_latest() == 2
    # 2 epochs x 4 batches x 5 generator steps.
    assert int(fresh.g_optimizer.iterations.numpy()) == 40
    restored = [v.numpy() for v in fresh.g_optimizer.variables]
    trained = [v.numpy() for v in run.gan.g_optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(restored, trained))


def test_run_resumes_to_more_epochs(finished_run, real_images):
    run, config = finished_run
    resumed = training.train_gan(real_images, config.replace(epochs=3), run.out_dir, verbose=0)
    assert resumed.history["epoch"] == [1.0, 2.0, 3.0]
    assert int(resumed.gan.g_optimizer.iterations.numpy()) == 60


def test_run_rejects_other_config_in_same_folder(finished_run, real_images):
    run, config = finished_run
    with pytest.raises(ValueError, match="another configuration"):
        training.train_gan(real_images, config.replace(generator_lr=1e-3), run.out_dir, verbose=0)


def test_non_finite_loss_stops_without_saving(gan, tmp_path):
    checkpoint = callbacks.GANCheckpoint(tmp_path)
    checkpoint.set_model(gan)
    checkpoint.on_train_batch_end(0, {"g_loss": float("nan"), "d_real": 0.5})
    checkpoint.on_epoch_end(0, {"g_loss": float("nan")})
    assert gan.stop_training is True
    assert not (tmp_path / "generator.keras").exists()
    assert not (tmp_path / "checkpoints").exists()


def test_training_on_real_sample(real_sample_path, tmp_path):
    images = data.preprocess(data.load_patches(real_sample_path, cache_dir=tmp_path).images)
    assert images.shape == (2000, 32, 64, 1)
    config = training.TrainConfig(batch_size=100, epochs=1, seed=0)
    run = training.train_gan(images[:400], config, verbose=0)
    assert all(math.isfinite(run.history[name][0]) for name in callbacks.HISTORY_METRICS)
    assert 0 < run.history["d_real"][0] < 1


def test_bfloat16_precision_keeps_float32_outputs(real_images):
    gan = training.build_eyegan(training.TrainConfig(batch_size=BATCH, precision="mixed_bfloat16"))
    assert gan.generator.get_layer("deconv2").compute_dtype == "bfloat16"
    assert gan.generator.output.dtype == "float32"
    assert gan.discriminator.output.dtype == "float32"
    logs = gan.train_step(tf.constant(real_images[:BATCH]))
    assert all(math.isfinite(float(v)) for v in logs.values())


def test_config_rejects_float16_precision():
    with pytest.raises(ValueError, match="precision"):
        training.TrainConfig(precision="mixed_float16")


@pytest.mark.parametrize("capabilities, expected", [
    ([], "float32"),
    ([(7, 5)], "float32"),
    ([(8, 0)], "mixed_bfloat16"),
    ([(9, 0), (7, 0)], "float32"),
])
def test_auto_precision_follows_gpus(monkeypatch, capabilities, expected):
    gpus = [f"GPU:{index}" for index in range(len(capabilities))]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details",
                        lambda gpu: {"compute_capability": capabilities[gpus.index(gpu)]})

    assert training.resolve_precision("auto") == expected
    assert training.resolve_precision("float32") == "float32"


def test_auto_precision_builds_float32_on_cpu():
    if training.gpu_available():
        pytest.skip("a GPU is present; auto precision may pick bfloat16")

    gan = training.build_eyegan(training.TrainConfig(batch_size=BATCH))

    assert gan.generator.get_layer("deconv1").dtype_policy.name == "float32"
    assert gan.discriminator.get_layer("conv1").dtype_policy.name == "float32"

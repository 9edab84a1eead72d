import numpy as np
import pytest

from eyegan import models


@pytest.fixture(scope="module")
def generator():
    return models.build_generator(seed=0)


@pytest.fixture(scope="module")
def discriminator():
    return models.build_discriminator(seed=1)


def test_generator_parameter_counts(generator):
    total, trainable, non_trainable = models.count_parameters(generator)
    assert total == 1_209_473
    assert trainable == 1_208_513
    assert non_trainable == 960


def test_discriminator_parameter_counts(discriminator):
    total, trainable, non_trainable = models.count_parameters(discriminator)
    assert total == 435_777
    assert trainable == 434_785
    assert non_trainable == 992


def test_stacked_gan_trains_generator_only():
    generator = models.build_generator()
    discriminator = models.build_discriminator()
    total, trainable, non_trainable = models.count_parameters(models.build_gan(generator, discriminator))
    assert total == 1_645_250
    assert trainable == 1_208_513
    assert non_trainable == 436_737
    assert discriminator.trainable is False


def test_generator_layer_shapes(generator):
    shapes = [generator.get_layer(f"deconv{i}").output.shape[1:] for i in range(1, 6)]
    assert shapes == [(2, 4, 256), (4, 8, 128), (8, 16, 64), (16, 32, 32), (32, 64, 1)]


def test_discriminator_layer_shapes(discriminator):
    shapes = [discriminator.get_layer(f"conv{i}").output.shape[1:] for i in range(1, 7)]
    assert shapes == [(16, 16, 16), (8, 8, 32), (4, 4, 64), (2, 2, 128), (1, 1, 256), (1, 1, 1)]
    assert discriminator.output_shape == (None, 1)


def test_generator_output_inside_tanh_range(generator):
    noise = np.random.default_rng(0).standard_normal((8, models.LATENT_DIM)).astype("float32")
    images = np.asarray(generator(noise, training=False))
    assert images.shape == (8, 32, 64, 1)
    assert images.min() > -1.0
    assert images.max() < 1.0
    assert images.std() > 0


def test_discriminator_output_is_probability(discriminator):
    images = np.random.default_rng(0).standard_normal((4, 32, 64, 1)).astype("float32")
    probabilities = np.asarray(discriminator(images, training=False))
    assert probabilities.shape == (4, 1)
    assert np.all((probabilities > 0) & (probabilities < 1))


def test_batch_norm_off_removes_statistics():
    generator = models.build_generator(batch_norm=False)
    discriminator = models.build_discriminator(batch_norm=False)
    # Removing batch norm drops 4 parameters per channel: 1,920 and 1,984.
    assert models.count_parameters(generator) == (1_207_553, 1_207_553, 0)
    assert models.count_parameters(discriminator) == (433_793, 433_793, 0)


def test_latent_dim_sets_noise_size():
    generator = models.build_generator(latent_dim=16)
    assert generator.input_shape == (None, 16)
    # First layer: 2 x 4 kernel x 16 inputs x 256 filters + 256 biases.
    assert generator.get_layer("deconv1").count_params() == 2 * 4 * 16 * 256 + 256


def test_latent_dim_rejects_zero():
    with pytest.raises(ValueError, match="latent_dim"):
        models.build_generator(latent_dim=0)


def test_seed_repeats_initial_weights():
    first = models.build_generator(seed=3).get_weights()
    second = models.build_generator(seed=3).get_weights()
    other = models.build_generator(seed=4).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], other[0])


def test_weights_drawn_with_dcgan_stddev(generator):
    kernel = generator.get_layer("deconv2").kernel.numpy()
    assert abs(kernel.mean()) < 0.001
    assert kernel.std() == pytest.approx(models.WEIGHT_STDDEV, rel=0.05)

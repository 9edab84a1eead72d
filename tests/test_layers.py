import math

import numpy as np
import pytest

from eyegan import layers, models


@pytest.fixture(scope="module", params=["generator", "discriminator"])
def model(request):
    build = {"generator": models.build_generator, "discriminator": models.build_discriminator}
    return build[request.param]()


def weight_count(weights):
    return sum(math.prod(w.shape) for w in weights)


def test_table_rows_match_keras_counts(model):
    for row in layers.layer_table(model):
        layer = model.get_layer(row.name)
        assert row.parameters == layer.count_params(), row.name
        assert row.trainable == weight_count(layer.trainable_weights), row.name
        assert row.non_trainable == weight_count(layer.non_trainable_weights), row.name
        assert row.output_shape == tuple(layer.output.shape[1:]), row.name


def test_table_covers_every_layer(model):
    names = [row.name for row in layers.layer_table(model)]
    assert names == [layer.name for layer in model.layers[1:]]


def test_table_totals_match_model(model):
    rows = layers.layer_table(model)
    total, _, non_trainable = models.count_parameters(model)
    assert sum(row.parameters for row in rows) == total
    assert sum(row.non_trainable for row in rows) == non_trainable


def test_generator_macs_per_layer():
    rows = {row.name: row for row in layers.layer_table(models.build_generator())}
    # deconv2: 2x4 input pixels, each spread by a 5x5x256x128 kernel.
    assert rows["deconv2"].macs == 2 * 4 * 5 * 5 * 256 * 128
    assert rows["bn2"].macs == 0


def test_discriminator_macs_per_layer():
    rows = {row.name: row for row in layers.layer_table(models.build_discriminator())}
    # conv1: 16x16 output pixels, each a 5x5x1 window for 16 filters.
    assert rows["conv1"].macs == 16 * 16 * 5 * 5 * 1 * 16
    assert rows["conv6"].macs == 256


def test_format_table_totals_line():
    text = layers.format_table(layers.layer_table(models.build_generator()))
    assert text.splitlines()[-1].split()[:3] == ["total", "1,209,473", "960"]


def test_overlap_uneven_when_stride_does_not_divide_kernel():
    interior = layers.transposed_overlap((5, 5), (2, 2), (6, 6))[2:-2, 2:-2]
    assert set(np.unique(interior)) == {4, 6, 9}


def test_overlap_even_when_stride_divides_kernel():
    interior = layers.transposed_overlap((4, 4), (2, 2), (6, 6))[2:-2, 2:-2]
    assert set(np.unique(interior)) == {4}


def test_feature_maps_shapes():
    generator = models.build_generator()
    noise = np.zeros((2, models.LATENT_DIM), np.float32)
    maps = layers.feature_maps(generator, noise, ["relu1", "deconv5"])
    assert maps["relu1"].shape == (2, 2, 4, 256)
    assert maps["deconv5"].shape == (2, 32, 64, 1)

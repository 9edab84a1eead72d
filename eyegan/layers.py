"""Per-layer accounting of a model: output shapes, parameter counts and multiply-accumulates.

Counts are derived from each layer's configuration with the textbook formulas,
not read back from Keras, so that a table built here can be checked against
``layer.count_params()``:

* (transposed) convolution: kernel height x kernel width x input channels x
  filters weights, plus one bias per filter;
* batch normalization: 4 numbers per channel, gamma and beta (trainable) and
  the moving mean and variance (non-trainable).
"""

import dataclasses
import math

import numpy as np

from eyegan._tf import keras


@dataclasses.dataclass(frozen=True)
class LayerRow:
    """One layer's line in a parameter table.

    ``output_shape`` excludes the batch axis. ``macs`` counts the
    multiply-accumulate operations of one example's forward pass (0 for
    layers that do no weighted sums); ``formula`` shows how ``parameters``
    was derived.
    """

    name: str
    kind: str
    output_shape: tuple
    parameters: int
    trainable: int
    non_trainable: int
    formula: str
    macs: int


def _conv_row(layer, input_shape, output_shape):
    kernel_height, kernel_width = layer.kernel_size
    channels_in = input_shape[-1]
    filters = layer.filters
    weights = kernel_height * kernel_width * channels_in * filters
    parameters = weights + (filters if layer.use_bias else 0)
    formula = f"{kernel_height}x{kernel_width}x{channels_in}x{filters} + {filters}"
    if isinstance(layer, keras.layers.Conv2DTranspose):
        # Every input pixel is spread over a kernel-sized patch of the output.
        # Taps that "same" padding crops at the border are counted too, so this
        # slightly overestimates the work.
        macs = math.prod(input_shape[:2]) * weights
    else:
        # Every output pixel is one weighted sum over a kernel-sized window.
        macs = math.prod(output_shape[:2]) * weights
    return parameters, parameters, 0, formula, macs


def _batch_norm_row(layer, input_shape):
    channels = input_shape[-1]
    return 4 * channels, 2 * channels, 2 * channels, f"4x{channels} (2x{channels} moving statistics)", 0


def layer_table(model):
    """Return one :class:`LayerRow` per layer of a built functional model, input excluded.

    Raises ValueError for a layer type with weights that this module has no
    formula for, rather than reporting a wrong count.
    """
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        input_shape = tuple(layer.input.shape[1:])
        output_shape = tuple(layer.output.shape[1:])
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            counts = _conv_row(layer, input_shape, output_shape)
        elif isinstance(layer, keras.layers.BatchNormalization):
            counts = _batch_norm_row(layer, input_shape)
        elif not layer.weights:
            counts = (0, 0, 0, "", 0)
        else:
            raise ValueError(f"no parameter formula for layer {layer.name!r} of type {type(layer).__name__}")
        rows.append(LayerRow(layer.name, type(layer).__name__, output_shape, *counts))
    return rows


def format_table(rows):
    """Render rows as a fixed-width text table with a totals line."""
    lines = [f"{'layer':<16}{'type':<20}{'output shape':<16}{'parameters':>11}{'non-train.':>11}"
             f"{'MACs':>13}  formula"]
    for row in rows:
        shape = "x".join(str(size) for size in row.output_shape)
        lines.append(f"{row.name:<16}{row.kind:<20}{shape:<16}{row.parameters:>11,}{row.non_trainable:>11,}"
                     f"{row.macs:>13,}  {row.formula}")
    total = sum(row.parameters for row in rows)
    frozen = sum(row.non_trainable for row in rows)
    macs = sum(row.macs for row in rows)
    lines.append(f"{'total':<52}{total:>11,}{frozen:>11,}{macs:>13,}")
    return "\n".join(lines)


def feature_maps(model, inputs, layer_names):
    """Run ``inputs`` through ``model`` in inference mode; return each named layer's output.

    Returns ``{name: numpy array of shape (batch, height, width, channels)}``.
    """
    probe = keras.Model(model.input, [model.get_layer(name).output for name in layer_names])
    outputs = probe(inputs, training=False)
    if len(layer_names) == 1:
        outputs = [outputs]
    return {name: np.asarray(output) for name, output in zip(layer_names, outputs)}


def transposed_overlap(kernel_size, strides, input_size):
    """Count how many kernel taps land on each output pixel of a transposed convolution.

    Uses an all-ones input of ``input_size`` (height, width) and an all-ones
    kernel with "same" padding. An uneven count, a kernel size not divisible by
    the stride, is where checkerboard artifacts come from. Returns a 2-D
    integer array of the output's size.
    """
    layer = keras.layers.Conv2DTranspose(1, kernel_size, strides=strides, padding="same", use_bias=False,
                                         kernel_initializer="ones")
    counts = layer(np.ones((1, *input_size, 1), np.float32))
    return np.rint(np.asarray(counts)[0, :, :, 0]).astype(int)


def format_row(row):
    """Describe one layer's row in a few lines: shape, parameter formula and work."""
    shape = " x ".join(str(size) for size in row.output_shape)
    text = [f"{row.name} ({row.kind}): output {shape}"]
    if row.parameters:
        text.append(f"  parameters: {row.formula} = {row.parameters:,}"
                    + (f", of which {row.non_trainable:,} non-trainable" if row.non_trainable else ""))
    if row.macs:
        text.append(f"  multiply-accumulates per example: {row.macs:,}")
    return "\n".join(text)

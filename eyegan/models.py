"""The reference DCGAN-style generator and discriminator for 32x64x1 eye images.

With the defaults the models reproduce the reference architecture exactly:

==============  ==========  ==========  =============
model           parameters  trainable   non-trainable
==============  ==========  ==========  =============
generator        1,209,473   1,208,513            960
discriminator      435,777     434,785            992
stacked GAN      1,645,250   1,208,513        436,737
==============  ==========  ==========  =============

The non-trainable parameters of the two networks are the batch-norm moving means
and variances; in the stacked GAN the whole discriminator is frozen as well.
"""

import math

from eyegan._tf import keras
from eyegan.data import IMAGE_SHAPE

# Default size of the noise vector the generator turns into an eye.
LATENT_DIM = 64

# DCGAN initialisation: weights drawn from N(0, 0.02).
WEIGHT_STDDEV = 0.02

# Slope of LeakyReLU for negative inputs in the discriminator, as in DCGAN.
LEAKY_SLOPE = 0.2

# (filters, kernel size, strides) of each hidden transposed convolution. The first
# turns the 1x1 noise "image" into a 2x4 map, the same 1:2 aspect as the output;
# each later one doubles both sides: 2x4 -> 4x8 -> 8x16 -> 16x32.
GENERATOR_LAYERS = (
    (256, (2, 4), (2, 4)),
    (128, (5, 5), (2, 2)),
    (64, (5, 5), (2, 2)),
    (32, (5, 5), (2, 2)),
)

# (filters, kernel size, strides) of each discriminator convolution. The first
# stride of (2, 4) makes the 32x64 input square (16x16); each later one halves it
# down to 1x1.
DISCRIMINATOR_LAYERS = (
    (16, (5, 5), (2, 4)),
    (32, (5, 5), (2, 2)),
    (64, (5, 5), (2, 2)),
    (128, (3, 3), (2, 2)),
    (256, (3, 3), (2, 2)),
)


def _initializer(seed):
    return keras.initializers.RandomNormal(mean=0.0, stddev=WEIGHT_STDDEV, seed=seed)


def _layer_seed(seed, index):
    return None if seed is None else seed + index


def build_generator(latent_dim=LATENT_DIM, *, batch_norm=True, seed=None, dtype=None):
    """Build the generator: noise of shape (batch, latent_dim) -> images (batch, 32, 64, 1).

    Transposed convolutions upsample a 1x1xlatent_dim map to 32x64; every hidden
    layer is followed by batch normalization (when ``batch_norm``) and ReLU, and the
    output layer by tanh, so pixels lie in (-1, 1). ``seed`` makes the initial
    weights repeatable. ``dtype`` is a Keras dtype policy for the hidden layers,
    such as "mixed_bfloat16"; the output layer always computes in float32. With
    the defaults the model has 1,209,473 parameters.
    """
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")

    noise = keras.Input(shape=(latent_dim,), name="noise")
    x = keras.layers.Reshape((1, 1, latent_dim), name="noise_as_image")(noise)
    for index, (filters, kernel, strides) in enumerate(GENERATOR_LAYERS, start=1):
        x = keras.layers.Conv2DTranspose(
            filters, kernel, strides=strides, padding="same",
            kernel_initializer=_initializer(_layer_seed(seed, index)),
            name=f"deconv{index}", dtype=dtype,
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"bn{index}", dtype=dtype)(x)
        x = keras.layers.ReLU(name=f"relu{index}", dtype=dtype)(x)

    output_index = len(GENERATOR_LAYERS) + 1
    image = keras.layers.Conv2DTranspose(
        IMAGE_SHAPE[-1], (5, 5), strides=(2, 2), padding="same", activation="tanh",
        kernel_initializer=_initializer(_layer_seed(seed, output_index)),
        name=f"deconv{output_index}", dtype="float32",
    )(x)
    return keras.Model(noise, image, name="generator")


def build_discriminator(*, batch_norm=True, seed=None, dtype=None):
    """Build the discriminator: images (batch, 32, 64, 1) -> P(real) of shape (batch, 1).

    Five strided convolutions reduce the image to a 1x1x256 map, each followed by
    batch normalization (when ``batch_norm``) and LeakyReLU(0.2). A 1x1 convolution
    with a sigmoid then gives the probability that the image is real. ``seed`` makes the
    initial weights repeatable. ``dtype`` is a Keras dtype policy for the hidden
    layers; the head always computes in float32. With the defaults the model
    has 435,777 parameters.
    """
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = image
    for index, (filters, kernel, strides) in enumerate(DISCRIMINATOR_LAYERS, start=1):
        x = keras.layers.Conv2D(
            filters, kernel, strides=strides, padding="same",
            kernel_initializer=_initializer(_layer_seed(seed, index)),
            name=f"conv{index}", dtype=dtype,
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"bn{index}", dtype=dtype)(x)
        x = keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=f"lrelu{index}", dtype=dtype)(x)

    head_index = len(DISCRIMINATOR_LAYERS) + 1
    x = keras.layers.Conv2D(
        1, (1, 1), activation="sigmoid",
        kernel_initializer=_initializer(_layer_seed(seed, head_index)),
        name=f"conv{head_index}", dtype="float32",
    )(x)
    probability = keras.layers.Flatten(name="probability")(x)
    return keras.Model(image, probability, name="discriminator")


def build_gan(generator, discriminator):
    """Stack ``discriminator(generator(noise))`` into one model, with the discriminator frozen.

    This is the model the reference trains the generator through. Freezing sets
    ``discriminator.trainable = False``, which also makes its batch-norm layers run
    in inference mode inside the stack. Set it back to True before training the
    discriminator on its own. Returns a model mapping noise (batch, latent_dim) to
    P(real) (batch, 1).
    """
    discriminator.trainable = False
    noise = keras.Input(shape=generator.input_shape[1:], name="noise")
    probability = discriminator(generator(noise))
    return keras.Model(noise, probability, name="gan")


def count_parameters(model):
    """Return ``(total, trainable, non_trainable)`` parameter counts of a built model."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return trainable + non_trainable, trainable, non_trainable

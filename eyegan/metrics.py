"""Sample-quality measures for grayscale eye patches that need no download.

All functions take images as pixel values in [0, 255], shaped (n, height, width)
or (n, height, width, 1), any numeric dtype. Compare generated and real patches
on the same region: :func:`eyegan.data.unpad` removes the padding columns, so a
model's output and a raw patch are both compared on their 32x55 content.

- :func:`sliced_wasserstein` compares the distributions of small patches at
  several scales of a Laplacian pyramid (the multi-scale sliced Wasserstein
  distance of Karras et al., 2018, with its own choice of sizes). Lower is
  better; two samples of the same distribution score near a floor set by the
  sample size.
- :func:`nearest_neighbor_distances` and :func:`memorization_ratio` check
  whether generated patches sit closer to the training set than unseen real
  patches do.
- :func:`diversity` is the mean distance between two samples of a set, 0 for a
  generator that draws one patch for every noise vector.
"""

import dataclasses

import numpy as np

# Binomial blur of the Laplacian pyramid (approximately Gaussian, sigma about 1).
_BLUR_TAPS = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0

# Sizes of the sliced Wasserstein distance. On 2,000 against 2,000 rendered
# patches one call took about 3 s on 2 CPU cores. The metric's seed moved a
# blurred set's score by under 1%. It moved the floor (two samples of the same
# renderer) by about 10%, because the floor is itself sampling noise.
SWD_LEVELS = 3
SWD_PATCH_SIZE = 7
SWD_PATCHES_PER_IMAGE = 32
SWD_DIRECTIONS = 256

# Rows of the distance matrix computed at a time, to bound memory.
_DISTANCE_CHUNK = 512


@dataclasses.dataclass(frozen=True)
class SlicedWasserstein:
    """Sliced Wasserstein distances per pyramid level, finest first, and their mean."""

    levels: tuple
    mean: float

    def __float__(self):
        return self.mean


def as_pixels(images):
    """Return ``images`` as float64 (n, height, width), checking the pixel range.

    Raises ValueError for fewer than three axes, an empty set, non-finite values
    or values outside [0, 255] (normalised model output must go through
    :func:`eyegan.data.denormalize` first).
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected a non-empty stack of grayscale images (n, height, width), "
                         f"got shape {images.shape}")
    if not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or infinite values")
    low, high = images.min(), images.max()
    if low < 0 or high > 255:
        raise ValueError(f"pixel values span [{low:.3g}, {high:.3g}], expected [0, 255]; "
                         "turn model output into pixels with eyegan.data.denormalize")
    return images


def laplacian_pyramid(images, levels=SWD_LEVELS):
    """Split pixel images into ``levels`` band-pass images, finest first.

    Each level but the last is an image minus the blurred, upsampled version of
    its half-size copy; the last level is the remaining low-pass image. Level k
    has size ceil(height / 2**k) x ceil(width / 2**k). Returns a list of float64
    arrays (n, h_k, w_k).
    """
    current = as_pixels(images) / 255.0
    pyramid = []
    for _ in range(levels - 1):
        smaller = _blur(current)[:, ::2, ::2]
        pyramid.append(current - _upsample(smaller, current.shape[1:]))
        current = smaller
    pyramid.append(current)
    return pyramid


def sliced_wasserstein(images, reference, *, seed=0, levels=SWD_LEVELS, patch_size=SWD_PATCH_SIZE,
                       patches_per_image=SWD_PATCHES_PER_IMAGE, directions=SWD_DIRECTIONS):
    """Measure how far the patch statistics of ``images`` are from those of ``reference``.

    At each level of a Laplacian pyramid, ``patches_per_image`` random
    ``patch_size`` squares per image are flattened into descriptors, which are
    standardised with the reference descriptors' mean and standard deviation
    (so lost contrast counts), and projected onto ``directions`` random unit
    vectors. The distance of a level is the mean over directions of the
    1-Wasserstein distance between the two projected samples, which are first
    cut to equal size. ``seed`` fixes the patch positions and directions.

    Returns a :class:`SlicedWasserstein`. Raises ValueError for invalid images or
    a level smaller than ``patch_size``.
    """
    rng = np.random.default_rng(seed)
    pyramid = laplacian_pyramid(images, levels)
    reference_pyramid = laplacian_pyramid(reference, levels)
    count = min(len(pyramid[0]), len(reference_pyramid[0])) * patches_per_image

    distances = []
    for level, reference_level in zip(pyramid, reference_pyramid):
        if min(level.shape[1:]) < patch_size:
            raise ValueError(f"a pyramid level of size {level.shape[1:]} is smaller than "
                             f"patch_size {patch_size}; use fewer levels or a smaller patch")
        descriptors = _random_patches(level, patches_per_image, patch_size, rng)[:count]
        reference_descriptors = _random_patches(reference_level, patches_per_image, patch_size, rng)[:count]
        mean = reference_descriptors.mean(axis=0)
        std = reference_descriptors.std(axis=0) + 1e-8
        descriptors = (descriptors - mean) / std
        reference_descriptors = (reference_descriptors - mean) / std

        basis = rng.standard_normal((descriptors.shape[1], directions))
        basis /= np.linalg.norm(basis, axis=0, keepdims=True)
        projected = np.sort((descriptors @ basis).astype(np.float32), axis=0)
        reference_projected = np.sort((reference_descriptors @ basis).astype(np.float32), axis=0)
        distances.append(float(np.abs(projected - reference_projected).mean()))
    return SlicedWasserstein(tuple(distances), float(np.mean(distances)))


def nearest_neighbor_distances(queries, reference):
    """Return, for each query image, the RMS pixel distance to its closest reference image.

    Both sets are pixel images of the same size. Returns float64 (n_queries,), in
    pixel units (0 to 255).
    """
    queries = as_pixels(queries).reshape(len(queries), -1)
    reference = as_pixels(reference).reshape(len(reference), -1)
    if queries.shape[1] != reference.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} pixels per image, "
                         f"the reference {reference.shape[1]}; compare images of one size")
    reference_norms = np.einsum("ij,ij->i", reference, reference)
    closest = np.empty(len(queries))
    for start in range(0, len(queries), _DISTANCE_CHUNK):
        chunk = queries[start:start + _DISTANCE_CHUNK]
        squared = (np.einsum("ij,ij->i", chunk, chunk)[:, None] + reference_norms[None, :]
                   - 2.0 * chunk @ reference.T)
        closest[start:start + len(chunk)] = np.maximum(squared.min(axis=1), 0.0)
    return np.sqrt(closest / queries.shape[1])


def memorization_ratio(generated, train, held_out):
    """Compare how close generated and unseen real patches come to the training set.

    Returns the median nearest-neighbour distance from ``generated`` to ``train``
    divided by the same for ``held_out`` (real patches not trained on). About 1
    or more: generated patches are no closer to the training set than new real
    ones. Well below 1: the generator reproduces training patches.
    """
    generated_distance = np.median(nearest_neighbor_distances(generated, train))
    held_out_distance = np.median(nearest_neighbor_distances(held_out, train))
    return float(generated_distance / held_out_distance)


def diversity(images, *, pairs=2000, seed=0):
    """Return the mean RMS pixel distance between random pairs of distinct images.

    In pixel units: 0 when every image is the same. Compare a generator's value
    with the real data's, as :func:`evaluate` does. Raises ValueError for fewer
    than two images.
    """
    images = as_pixels(images).reshape(len(images), -1)
    if len(images) < 2:
        raise ValueError(f"diversity needs at least two images, got {len(images)}")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(images), pairs)
    # An offset in [1, n) makes the second index differ from the first.
    second = (first + rng.integers(1, len(images), pairs)) % len(images)
    differences = images[first] - images[second]
    return float(np.sqrt((differences ** 2).mean(axis=1)).mean())


def evaluate(generated, real, *, train=None, seed=0):
    """Score generated pixel images against real ones with every measure of this module.

    Returns a dict: ``swd`` (mean sliced Wasserstein distance) and ``swd_level_k``
    per pyramid level, ``diversity`` (generated diversity divided by real
    diversity, 1 when equal) and, when ``train`` (the training patches) is given,
    ``memorization`` (:func:`memorization_ratio` with ``real`` as the held-out set).
    """
    swd = sliced_wasserstein(generated, real, seed=seed)
    scores = {"swd": swd.mean}
    scores.update({f"swd_level_{k}": value for k, value in enumerate(swd.levels)})
    scores["diversity"] = diversity(generated, seed=seed) / diversity(real, seed=seed)
    if train is not None:
        scores["memorization"] = memorization_ratio(generated, train, real)
    return scores


def _blur(images):
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2)], mode="reflect")
    rows = sum(tap * padded[:, k:k + images.shape[1], :] for k, tap in enumerate(_BLUR_TAPS))
    return sum(tap * rows[:, :, k:k + images.shape[2]] for k, tap in enumerate(_BLUR_TAPS))


def _upsample(images, shape):
    larger = images.repeat(2, axis=1).repeat(2, axis=2)[:, :shape[0], :shape[1]]
    return _blur(larger)


def _random_patches(images, count, size, rng):
    """Cut ``count`` random ``size`` x ``size`` squares from each image; return (n * count, size * size)."""
    n, height, width = images.shape
    top = rng.integers(0, height - size + 1, (n, count))
    left = rng.integers(0, width - size + 1, (n, count))
    offsets = np.arange(size)
    rows = (top[:, :, None] + offsets)[:, :, :, None]
    columns = (left[:, :, None] + offsets)[:, :, None, :]
    patches = images[np.arange(n)[:, None, None, None], rows, columns]
    return patches.reshape(n * count, size * size)

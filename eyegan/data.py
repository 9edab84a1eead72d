"""Eye patches: readers for the Kaggle eye-gaze files, preprocessing and defaults.

Three sources contain raw 35x55 uint8 grayscale eye patches:

- ``real_gaze.h5`` (real MPIIGaze patches): a group ``image`` with one dataset per patch;
- ``gaze.h5`` (synthetic UnityEyes patches): the same ``image`` group, plus a group
  ``look_vec`` with one 3-vector per patch under the same dataset name as its image;
- a folder of PNG or JPEG files, one patch per file.

``load_patches`` picks the source from its argument, then from the ``EYEGAN_DATA``
environment variable, and otherwise renders patches with ``eyegan.render``. Reading a
Kaggle file dataset by dataset is slow, so the stacked arrays are cached as ``.npz``.
``preprocess`` turns raw patches into the model's (N, 32, 64, 1) float32 input.
"""

import dataclasses
import hashlib
import logging
import os
import tempfile
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
from PIL import Image, UnidentifiedImageError
# The text bar, not tqdm.auto's widget: a widget needs JavaScript from a CDN to
# show in a built book page, and stays an empty box without it.
from tqdm import tqdm

logger = logging.getLogger(__name__)

# Raw patch size in the Kaggle eye-gaze files (rows, columns).
PATCH_SHAPE = (35, 55)
PATCH_DTYPE = np.dtype(np.uint8)

# Preprocessing of the reference model: keep rows 2..33 and pad the columns from 55 to
# 64, so that the image halves evenly through the generator's and discriminator's
# stride-2 layers.
CROP_ROWS = slice(2, 34)
PAD_LEFT = 4
PAD_RIGHT = 5
IMAGE_SHAPE = (32, 64, 1)

# The reference model's normalisation constants. For comparison, 2,000 real MPIIGaze
# patches in the real_gaze.h5 layout have pixel mean 129.2 and standard deviation 73.7.
NORM_MEAN = 129.0
NORM_STD = 73.8
PIXEL_MIN = 0.0
PIXEL_MAX = 255.0

# Pixel scalings that normalize accepts. "reference" is (x - 129) / 73.8, which
# leaves dark and bright pixels outside the generator's tanh range (-1, 1).
# "unit" is x / 127.5 - 1, which maps [0, 255] onto [-1, 1] exactly.
SCALINGS = ("reference", "unit")
UNIT_CENTER = 127.5
UNIT_HALF_RANGE = 127.5
# numpy.pad modes that crop_and_pad and preprocess accept.
PAD_MODES = ("constant", "edge", "reflect")

# HDF5 layout of the Kaggle files.
IMAGE_GROUP = "image"
LOOK_VEC_GROUP = "look_vec"
LOOK_VEC_SIZE = 3

# Folder source: files with these suffixes (compared in lower case) are read.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# Environment variables: the data source for load_patches, and the cache folder.
DATA_ENV_VAR = "EYEGAN_DATA"
CACHE_ENV_VAR = "EYEGAN_CACHE_DIR"
DEFAULT_CACHE_DIR = Path("~/.cache/eyegan")
# Bump when the layout of the cached .npz files changes, so old files are rebuilt.
CACHE_VERSION = 1

# Number of patches load_patches renders when no data source is given.
DEFAULT_RENDER_COUNT = 10_000


class DataError(ValueError):
    """Invalid or missing eye-patch data. The message names the file and the fix."""


@dataclasses.dataclass(frozen=True)
class EyePatches:
    """Raw eye patches and where they came from.

    ``images`` is (N, 35, 55) uint8 in [0, 255]. ``look_vec`` is (N, 3) float32 gaze
    vectors, row i belonging to image i, or None when the source has none. ``source``
    is the file or folder path, or a description of the rendering call. Frozen fixes
    the attributes, not the array contents.
    """

    images: np.ndarray
    look_vec: np.ndarray | None
    source: str

    def __post_init__(self):
        _check_patch_stack(self.images, self.source)
        if self.look_vec is None:
            return
        expected = (len(self.images), LOOK_VEC_SIZE)
        if self.look_vec.shape != expected or self.look_vec.dtype != np.float32:
            raise DataError(
                f"{self.source}: look_vec has shape {self.look_vec.shape} and dtype "
                f"{self.look_vec.dtype}, expected {expected} float32."
            )

    def __len__(self):
        return len(self.images)


# ---------------------------------------------------------------------------------
# Preprocessing
# ---------------------------------------------------------------------------------


def crop_and_pad(patches, pad_mode="constant"):
    """Crop rows 2..33 of raw patches and pad 4 columns left and 5 right.

    ``patches`` is (..., 35, 55) of any dtype. Returns (..., 32, 64) of the same dtype.
    ``pad_mode`` is a ``numpy.pad`` mode: ``"constant"`` pads with zeros, ``"edge"`` or
    ``"reflect"`` repeat the border. Raises DataError when the last two axes are not
    35x55.
    """
    patches = np.asarray(patches)
    if patches.shape[-2:] != PATCH_SHAPE:
        raise DataError(
            f"Patches have shape {patches.shape}, expected (..., {PATCH_SHAPE[0]}, "
            f"{PATCH_SHAPE[1]}). Pass raw patches as read by load_patches."
        )
    cropped = patches[..., CROP_ROWS, :]
    pad_width = [(0, 0)] * (cropped.ndim - 1) + [(PAD_LEFT, PAD_RIGHT)]
    return np.pad(cropped, pad_width, mode=pad_mode)


def normalize(images, *, scaling="reference"):
    """Map pixel values in [0, 255] to model values.

    ``scaling="reference"`` gives ``(x - 129) / 73.8``, about [-1.75, 1.71];
    ``"unit"`` gives ``x / 127.5 - 1``, exactly [-1, 1]. Accepts any shape and numeric
    dtype. Returns float32 of the same shape. Raises ValueError for another scaling.
    """
    center, scale = _scaling_constants(scaling)
    return (np.asarray(images, dtype=np.float32) - center) / scale


def denormalize(images, *, to_uint8=False, scaling="reference"):
    """Invert ``normalize`` for display and clip to [0, 255].

    Accepts any shape. Returns float32 of the same shape, or uint8 rounded to the nearest
    integer when ``to_uint8`` is true. Raises ValueError for an unknown ``scaling``.
    """
    center, scale = _scaling_constants(scaling)
    pixels = np.asarray(images, dtype=np.float32) * scale + center
    pixels = np.clip(pixels, PIXEL_MIN, PIXEL_MAX)
    if to_uint8:
        return np.rint(pixels).astype(np.uint8)
    return pixels.astype(np.float32)


def _scaling_constants(scaling):
    if scaling == "reference":
        return NORM_MEAN, NORM_STD
    if scaling == "unit":
        return UNIT_CENTER, UNIT_HALF_RANGE
    raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}")


def unpad(images):
    """Drop the padding columns that ``crop_and_pad`` added: (..., 32, 64) to (..., 32, 55).

    A trailing channel axis of size 1 is dropped first. Raises DataError for another
    width.
    """
    images = np.asarray(images)
    if images.ndim >= 3 and images.shape[-1] == 1:
        images = images[..., 0]
    width = PATCH_SHAPE[1] + PAD_LEFT + PAD_RIGHT
    if images.shape[-1] != width:
        raise DataError(f"Images have shape {images.shape}, expected (..., {width}) columns "
                        "as crop_and_pad returns.")
    return images[..., PAD_LEFT:width - PAD_RIGHT]


def preprocess(patches, *, pad_mode="constant", scaling="reference"):
    """Turn raw patches into model input: crop and pad, normalise, add a channel axis.

    ``patches`` is (N, 35, 55) with values in [0, 255]; ``pad_mode`` and ``scaling``
    are passed to ``crop_and_pad`` and ``normalize``. Returns (N, 32, 64, 1) float32.
    Raises DataError when ``patches`` is not three-dimensional or not 35x55.
    """
    patches = np.asarray(patches)
    if patches.ndim != 3:
        raise DataError(
            f"Patches have shape {patches.shape}, expected (N, {PATCH_SHAPE[0]}, "
            f"{PATCH_SHAPE[1]}). Add a leading axis for a single patch."
        )
    images = normalize(crop_and_pad(patches, pad_mode=pad_mode), scaling=scaling)
    return images[..., np.newaxis]


# ---------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------


def load_real_gaze(path, *, use_cache=True, cache_dir=None):
    """Read the patches of a real_gaze.h5-style file.

    Returns (N, 35, 55) uint8, ordered by dataset name (numerically when all names are
    decimal, else lexically). Reads from and writes to the cache described in
    ``load_patches`` unless ``use_cache`` is false. Raises DataError when the file is
    missing, not HDF5 or truncated, has no or an empty ``image`` group, or contains a patch
    that is not 35x55 uint8. A ``look_vec`` group, if present, is checked too.
    """
    return _load_h5(Path(path), use_cache, cache_dir)["images"]


def load_gaze(path, *, use_cache=True, cache_dir=None):
    """Read the patches and gaze vectors of a gaze.h5-style file.

    Returns ``(images, look_vec)``: (N, 35, 55) uint8 and (N, 3) float32, ordered by
    dataset name, each gaze vector paired with the image of the same name. Caching and
    errors are those of ``load_real_gaze``. Also raises DataError when the file has no
    ``look_vec`` group, or its dataset names differ from those of ``image``, or a gaze
    vector is not a float 3-vector.
    """
    path = Path(path)
    arrays = _load_h5(path, use_cache, cache_dir)
    if "look_vec" not in arrays:
        raise DataError(
            f"{path}: no '{LOOK_VEC_GROUP}' group, so it contains no gaze vectors. "
            "Use load_real_gaze for a file with images only."
        )
    return arrays["images"], arrays["look_vec"]


def load_folder(path):
    """Read every PNG or JPEG file of a folder as one grayscale patch.

    Files are read in order of file name and converted to 8-bit grayscale. Returns
    (N, 35, 55) uint8. Other files and subfolders are ignored. Raises DataError when the
    folder is missing, contains no image files, or a file is unreadable or not 55
    pixels wide and 35 high.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found. Pass a folder of 35x55 PNG or JPEG patches.")
    files = sorted(
        child for child in folder.iterdir()
        if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise DataError(
            f"{folder}: no image files (expected names ending in {', '.join(IMAGE_SUFFIXES)})."
        )

    images = np.empty((len(files), *PATCH_SHAPE), dtype=PATCH_DTYPE)
    for index, file in enumerate(_progress(files, f"Reading {folder.name}", "patch")):
        images[index] = _read_image_file(file)
    logger.info("Read %d patches from folder %s", len(files), folder)
    return images


def load_patches(source=None, *, n_default=DEFAULT_RENDER_COUNT, seed=0, use_cache=True,
                 cache_dir=None):
    """Load raw eye patches from a file, a folder or the package's renderer.

    ``source`` is a real_gaze.h5-style file, a gaze.h5-style file (recognised by its
    ``look_vec`` group) or a folder of image files. When it is None, the path in the
    ``EYEGAN_DATA`` environment variable is used. When that is unset or empty,
    ``n_default`` patches are rendered with ``eyegan.render.render_eyes`` and ``seed``.

    HDF5 files are cached as ``.npz`` in ``cache_dir``, else in ``$EYEGAN_CACHE_DIR``,
    else in ``~/.cache/eyegan``. An entry is keyed by the file's resolved path, size and
    modification time, so a changed file is read again. Pass ``use_cache=False`` to
    neither read nor write the cache.

    Returns an ``EyePatches``. Raises DataError for a missing or invalid source, with the
    messages of ``load_real_gaze``, ``load_gaze`` and ``load_folder``.
    """
    from_env = source is None
    if from_env:
        source = os.environ.get(DATA_ENV_VAR) or None
        if source is None:
            return _render_patches(n_default, seed)
        logger.info("Loading patches from %s=%s", DATA_ENV_VAR, source)

    path = Path(source)
    if path.is_dir():
        return EyePatches(load_folder(path), None, str(path))
    if not path.exists():
        fix = f"Set {DATA_ENV_VAR} to" if from_env else "Pass"
        raise DataError(
            f"{path}: file or folder not found. {fix} a real_gaze.h5 or gaze.h5 file or a "
            f"folder of patches, or leave {DATA_ENV_VAR} unset to render patches."
        )
    arrays = _load_h5(path, use_cache, cache_dir)
    return EyePatches(arrays["images"], arrays.get("look_vec"), str(path))


def _render_patches(count, seed):
    # Imported here because eyegan.render imports PATCH_SHAPE from this module.
    from eyegan.render import render_eyes

    rendered = render_eyes(count, seed=seed)
    return EyePatches(
        images=np.asarray(rendered.images, dtype=PATCH_DTYPE),
        look_vec=np.asarray(rendered.look_vec, dtype=np.float32),
        source=f"eyegan.render.render_eyes({count}, seed={seed})",
    )


def _read_image_file(file):
    try:
        with Image.open(file) as image:
            pixels = np.asarray(image.convert("L"))
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(
            f"{file}: failed to read as an image ({error}). Remove or replace the file."
        ) from error
    if pixels.shape != PATCH_SHAPE:
        height, width = pixels.shape
        raise DataError(
            f"{file}: image is {width}x{height} pixels, expected {PATCH_SHAPE[1]}x"
            f"{PATCH_SHAPE[0]} (width x height). Resize or remove the file."
        )
    return pixels


def _progress(items, description, unit):
    # leave=False removes the bar when done, so notebook outputs keep only the results.
    return tqdm(items, desc=description, unit=unit, leave=False)


def _check_patch_stack(images, source):
    if images.ndim != 3 or images.shape[1:] != PATCH_SHAPE or images.dtype != PATCH_DTYPE:
        raise DataError(
            f"{source}: images have shape {images.shape} and dtype {images.dtype}, "
            f"expected (N, {PATCH_SHAPE[0]}, {PATCH_SHAPE[1]}) uint8."
        )


# ---------------------------------------------------------------------------------
# HDF5 files
# ---------------------------------------------------------------------------------


def _load_h5(path, use_cache, cache_dir):
    """Return {"images": ..., "look_vec": ... (only if present)} for an HDF5 file."""
    if not path.is_file():
        raise DataError(
            f"{path}: file not found. Check the path, or download the Kaggle eye-gaze "
            "dataset (real_gaze.h5, gaze.h5)."
        )
    if not use_cache:
        return _read_h5(path)

    stat = path.stat()
    key = {
        "key_path": str(path.resolve()),
        "key_size": stat.st_size,
        "key_mtime_ns": stat.st_mtime_ns,
        "key_version": CACHE_VERSION,
    }
    cache_file = _cache_file(path, cache_dir)
    arrays = _read_cache(cache_file, key)
    if arrays is not None:
        logger.info(
            "Loaded %d patches of %s from cache %s", len(arrays["images"]), path, cache_file
        )
        return arrays

    arrays = _read_h5(path)
    _write_cache(cache_file, key, arrays)
    return arrays


def _read_h5(path):
    started = time.perf_counter()
    try:
        with h5py.File(path, "r") as file:
            arrays = _read_h5_groups(file, path)
    except (OSError, KeyError) as error:
        raise DataError(
            f"{path}: failed to read as HDF5 ({error}). The file may be truncated or in "
            "another format, so download it again."
        ) from error
    logger.info(
        "Read %d patches from %s in %.1f s", len(arrays["images"]), path,
        time.perf_counter() - started,
    )
    return arrays


def _read_h5_groups(file, path):
    images_group = _get_group(file, IMAGE_GROUP, path)
    names = _sorted_names(images_group)
    if not names:
        raise DataError(
            f"{path}: group '{IMAGE_GROUP}' is empty. Use a file that contains eye patches."
        )
    arrays = {"images": _read_images(images_group, names, path)}

    if LOOK_VEC_GROUP in file:
        look_vec_group = _get_group(file, LOOK_VEC_GROUP, path)
        arrays["look_vec"] = _read_look_vec(look_vec_group, names, path)
    return arrays


def _get_group(file, name, path):
    group = file.get(name)
    if not isinstance(group, h5py.Group):
        raise DataError(
            f"{path}: no '{name}' group (top-level keys: {sorted(file.keys())}). "
            "Use a real_gaze.h5 or gaze.h5 file from the Kaggle eye-gaze dataset."
        )
    return group


def _sorted_names(group):
    names = list(group.keys())
    if all(name.isascii() and name.isdigit() for name in names):
        return sorted(names, key=int)
    return sorted(names)


def _read_images(group, names, path):
    images = np.empty((len(names), *PATCH_SHAPE), dtype=PATCH_DTYPE)
    for index, name in enumerate(_progress(names, f"Reading {path.name}", "patch")):
        dataset = group[name]
        if not _has_layout(dataset, PATCH_SHAPE) or dataset.dtype != PATCH_DTYPE:
            raise DataError(
                f"{path}: dataset '{group.name}/{name}' has {_describe(dataset)}, expected "
                f"shape {PATCH_SHAPE} and dtype uint8. Remove the entry or fix the file."
            )
        # read_direct copies into the preallocated row without a temporary array.
        dataset.read_direct(images[index])
    return images


def _read_look_vec(group, names, path):
    look_names = set(group.keys())
    if look_names != set(names):
        missing = sorted(set(names) - look_names)[:5]
        extra = sorted(look_names - set(names))[:5]
        raise DataError(
            f"{path}: '{LOOK_VEC_GROUP}' has {len(look_names)} datasets for {len(names)} "
            f"images, and the names differ (first images without a gaze vector: {missing}, "
            f"first gaze vectors without an image: {extra}). Each image needs a gaze "
            "vector of the same name."
        )

    look_vec = np.empty((len(names), LOOK_VEC_SIZE), dtype=np.float32)
    for index, name in enumerate(_progress(names, f"Reading {path.name} gaze", "vector")):
        dataset = group[name]
        if not _has_layout(dataset, (LOOK_VEC_SIZE,)) or dataset.dtype.kind != "f":
            raise DataError(
                f"{path}: dataset '{group.name}/{name}' has {_describe(dataset)}, expected "
                f"shape ({LOOK_VEC_SIZE},) and a float dtype. Remove the entry or fix the file."
            )
        look_vec[index] = dataset[()]
    return look_vec


def _has_layout(node, shape):
    return isinstance(node, h5py.Dataset) and node.shape == shape


def _describe(node):
    if isinstance(node, h5py.Dataset):
        return f"shape {node.shape} and dtype {node.dtype}"
    return "no data (it is a group)"


# ---------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------


def _cache_file(path, cache_dir):
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV_VAR) or DEFAULT_CACHE_DIR
    # One entry per source path, so a changed file overwrites its stale entry.
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return Path(cache_dir).expanduser() / f"{path.stem}-{digest}.npz"


def _read_cache(cache_file, key):
    """Return the cached arrays, or None when the entry is missing, stale or unreadable."""
    if not cache_file.is_file():
        return None
    try:
        # np.load (numpy 2.4) leaks its file handle on a truncated zip, so open it here.
        with open(cache_file, "rb") as handle, np.load(handle, allow_pickle=False) as stored:
            if any(stored[name].item() != value for name, value in key.items()):
                logger.info("Cache %s is stale because its source changed, rereading", cache_file)
                return None
            arrays = {name: stored[name] for name in ("images", "look_vec") if name in stored}
        # Constructing EyePatches checks the shapes and dtypes of the cached arrays.
        EyePatches(arrays["images"], arrays.get("look_vec"), str(cache_file))
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        # DataError is a ValueError, so a cache with the wrong shapes lands here too.
        logger.warning(
            "Ignoring unreadable cache file %s (%s), it will be rewritten", cache_file, error
        )
        return None
    return arrays


def _write_cache(cache_file, key, arrays):
    """Write the arrays to a temporary file and rename it into place.

    A failure is logged, not raised, because the data itself was read.
    """
    temporary = None
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=cache_file.parent, prefix=cache_file.stem + "-", suffix=".tmp", delete=False
        ) as handle:
            temporary = Path(handle.name)
            np.savez(handle, **arrays, **key)
        os.replace(temporary, cache_file)
        temporary = None
    except OSError as error:
        logger.warning(
            "Could not write cache file %s (%s), continuing without it", cache_file, error
        )
    else:
        logger.info("Cached %d patches in %s", len(arrays["images"]), cache_file)
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)

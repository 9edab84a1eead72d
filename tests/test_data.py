"""Tests for eyegan.data: preprocessing, the three file readers, the cache and the defaults."""

import logging
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from eyegan import data
from eyegan.data import (
    CROP_ROWS,
    DATA_ENV_VAR,
    IMAGE_SHAPE,
    NORM_MEAN,
    NORM_STD,
    PAD_RIGHT,
    PATCH_SHAPE,
    DataError,
    crop_and_pad,
    denormalize,
    load_folder,
    load_gaze,
    load_patches,
    load_real_gaze,
    normalize,
    preprocess,
    unpad,
)

REAL_SAMPLE_COUNT = 2000
REAL_SAMPLE_MEAN = 129.4

# Dataset names in file order: unique decimals, neither contiguous nor sorted.
SHUFFLED_NAMES = ["17", "3", "250", "8", "1001", "42"]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    """Point the cache at a fresh folder and clear EYEGAN_DATA for every test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(data.CACHE_ENV_VAR, str(folder))
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    return folder


def patch_filled_with(value):
    return np.full(PATCH_SHAPE, value, dtype=np.uint8)


def write_real_gaze(path, names=SHUFFLED_NAMES):
    """Write a real_gaze.h5-style file whose patch named k is filled with k % 256."""
    with h5py.File(path, "w") as file:
        group = file.create_group("image")
        for name in names:
            group.create_dataset(name, data=patch_filled_with(int(name) % 256))
    return path


def write_gaze(path, names=SHUFFLED_NAMES, look_names=None):
    """Write a gaze.h5-style file: image k is filled with k % 256, its look_vec is (k, -k, 0.5).

    The look_vec and path groups are written in reverse order of the images, so a reader
    that pairs by position instead of by name returns mismatched rows.
    """
    look_names = names if look_names is None else look_names
    with h5py.File(path, "w") as file:
        images = file.create_group("image")
        for name in names:
            images.create_dataset(name, data=patch_filled_with(int(name) % 256))
        look_vec = file.create_group("look_vec")
        paths = file.create_group("path")
        for name in reversed(look_names):
            look_vec.create_dataset(name, data=np.array([int(name), -int(name), 0.5]))
            paths.create_dataset(name, data=f"imgs/{name}.jpg")
    return path


def sorted_values(names):
    return [int(name) % 256 for name in sorted(names, key=int)]


def fail_h5_open(*args, **kwargs):
    raise AssertionError("h5py.File was opened although the cache should be used")


# ---------------------------------------------------------------------------------
# Preprocessing
# ---------------------------------------------------------------------------------


def position_coded_patch():
    """A 35x55 patch whose pixel at (row, column) is 100 * row + column + 1."""
    rows, columns = np.indices(PATCH_SHAPE)
    return (100 * rows + columns + 1).astype(np.int32)


def test_crop_and_pad_shape():
    assert crop_and_pad(position_coded_patch()).shape == IMAGE_SHAPE[:2]


def test_crop_and_pad_keeps_dtype():
    assert crop_and_pad(patch_filled_with(7)).dtype == np.uint8


def test_crop_and_pad_batch_shape():
    batch = np.stack([position_coded_patch()] * 3)
    assert crop_and_pad(batch).shape == (3, *IMAGE_SHAPE[:2])


def test_crop_and_pad_positions():
    out = crop_and_pad(position_coded_patch())
    # Source row 2 becomes row 0, and source column 0 becomes column 4.
    assert out[0, 4] == 100 * 2 + 0 + 1
    assert out[0, 58] == 100 * 2 + 54 + 1
    assert out[31, 4] == 100 * 33 + 0 + 1
    assert out[31, 58] == 100 * 33 + 54 + 1
    assert out[10, 20] == 100 * 12 + 16 + 1


def test_crop_and_pad_zero_columns():
    out = crop_and_pad(position_coded_patch())
    assert np.all(out[:, :4] == 0)
    assert np.all(out[:, 59:] == 0)
    assert np.all(out[:, 4:59] > 0)


def test_crop_and_pad_edge_mode():
    out = crop_and_pad(position_coded_patch(), pad_mode="edge")
    assert np.array_equal(out[:, 0], out[:, 4])
    assert np.array_equal(out[:, 63], out[:, 58])


def test_crop_and_pad_wrong_shape():
    with pytest.raises(DataError, match="35, 55"):
        crop_and_pad(np.zeros((32, 64)))


def test_normalize_mean_is_zero():
    assert normalize(np.array([129], dtype=np.uint8))[0] == 0.0


def test_normalize_dtype():
    assert normalize(np.arange(256, dtype=np.uint8)).dtype == np.float32


def test_normalize_zero_padding_value():
    assert normalize(np.array([0.0]))[0] == pytest.approx(-129.0 / 73.8)


def test_normalize_constants():
    assert NORM_MEAN == 129.0
    assert NORM_STD == 73.8


def test_normalize_round_trip():
    pixels = np.arange(256, dtype=np.float32)
    np.testing.assert_allclose(denormalize(normalize(pixels)), pixels, atol=1e-4)


def test_denormalize_to_uint8_round_trip():
    pixels = np.arange(256, dtype=np.uint8)
    assert np.array_equal(denormalize(normalize(pixels), to_uint8=True), pixels)


def test_denormalize_clips():
    out = denormalize(np.array([-5.0, 5.0]))
    assert out[0] == 0.0
    assert out[1] == 255.0


def test_preprocess_shape_and_dtype():
    images = preprocess(np.stack([patch_filled_with(200)] * 2))
    assert images.shape == (2, *IMAGE_SHAPE)
    assert images.dtype == np.float32


def test_preprocess_values():
    images = preprocess(np.stack([patch_filled_with(129)]))
    assert images[0, 5, 10, 0] == 0.0
    assert images[0, 5, 0, 0] == pytest.approx(-129.0 / 73.8)


def test_unit_scaling_spans_tanh_range():
    np.testing.assert_allclose(normalize(np.array([0, 127.5, 255]), scaling="unit"), [-1.0, 0.0, 1.0])


def test_unit_scaling_round_trip():
    pixels = np.arange(256, dtype=np.uint8)
    restored = denormalize(normalize(pixels, scaling="unit"), to_uint8=True, scaling="unit")
    assert np.array_equal(restored, pixels)


def test_unknown_scaling_rejected():
    with pytest.raises(ValueError, match="scaling must be one of"):
        normalize(np.zeros(3), scaling="minmax")


def test_preprocess_unit_scaling_with_edge_padding():
    patch = patch_filled_with(0)
    patch[:, -1] = 255
    images = preprocess(np.stack([patch]), pad_mode="edge", scaling="unit")
    assert images[0, 5, 0, 0] == -1.0
    assert np.all(images[0, 5, -PAD_RIGHT:, 0] == 1.0)


def test_unpad_returns_content_columns():
    patch = np.arange(35 * 55).reshape(35, 55)
    images = crop_and_pad(patch)
    assert np.array_equal(unpad(images), patch[CROP_ROWS])
    assert np.array_equal(unpad(images[..., None]), patch[CROP_ROWS])


def test_unpad_rejects_raw_width():
    with pytest.raises(DataError, match="64"):
        unpad(np.zeros((32, 55)))


def test_preprocess_rejects_single_patch():
    with pytest.raises(DataError, match="leading axis"):
        preprocess(patch_filled_with(1))


# ---------------------------------------------------------------------------------
# Real sample (MPIIGaze patches in the layout of real_gaze.h5)
# ---------------------------------------------------------------------------------


def test_real_sample_count_and_shape(real_sample_path):
    images = load_real_gaze(real_sample_path)
    assert images.shape == (REAL_SAMPLE_COUNT, *PATCH_SHAPE)
    assert images.dtype == np.uint8


def test_real_sample_mean(real_sample_path):
    images = load_real_gaze(real_sample_path)
    assert abs(images.mean() - REAL_SAMPLE_MEAN) < 0.5


def test_real_sample_cache_matches(real_sample_path, monkeypatch):
    first = load_real_gaze(real_sample_path)
    monkeypatch.setattr(h5py, "File", fail_h5_open)
    assert np.array_equal(load_real_gaze(real_sample_path), first)


def test_real_sample_through_load_patches(real_sample_path):
    patches = load_patches(real_sample_path)
    assert len(patches) == REAL_SAMPLE_COUNT
    assert patches.look_vec is None
    assert patches.source == str(real_sample_path)


def test_real_sample_preprocessed(real_sample_path):
    images = preprocess(load_real_gaze(real_sample_path))
    assert images.shape == (REAL_SAMPLE_COUNT, *IMAGE_SHAPE)
    assert np.all(np.isfinite(images))


# ---------------------------------------------------------------------------------
# Fabricated real_gaze.h5 and gaze.h5 files
# ---------------------------------------------------------------------------------


def test_real_gaze_numeric_order(tmp_path):
    images = load_real_gaze(write_real_gaze(tmp_path / "real.h5"), use_cache=False)
    assert list(images[:, 0, 0]) == sorted_values(SHUFFLED_NAMES)


def test_real_gaze_lexical_order(tmp_path):
    path = tmp_path / "real.h5"
    with h5py.File(path, "w") as file:
        group = file.create_group("image")
        for value, name in [(1, "b"), (2, "a10"), (3, "a9")]:
            group.create_dataset(name, data=patch_filled_with(value))
    images = load_real_gaze(path, use_cache=False)
    assert list(images[:, 0, 0]) == [2, 3, 1]


def test_gaze_pairs_by_name(tmp_path):
    images, look_vec = load_gaze(write_gaze(tmp_path / "gaze.h5"), use_cache=False)
    for image, vector in zip(images, look_vec):
        assert np.all(image == int(vector[0]) % 256)


def test_gaze_order_and_dtypes(tmp_path):
    images, look_vec = load_gaze(write_gaze(tmp_path / "gaze.h5"), use_cache=False)
    assert list(look_vec[:, 0]) == sorted(int(name) for name in SHUFFLED_NAMES)
    assert images.dtype == np.uint8
    assert look_vec.dtype == np.float32
    assert look_vec.shape == (len(SHUFFLED_NAMES), 3)


def test_gaze_pairs_through_cache(tmp_path, monkeypatch):
    path = write_gaze(tmp_path / "gaze.h5")
    load_gaze(path)
    monkeypatch.setattr(h5py, "File", fail_h5_open)
    images, look_vec = load_gaze(path)
    for image, vector in zip(images, look_vec):
        assert np.all(image == int(vector[0]) % 256)


def test_load_patches_detects_gaze(tmp_path):
    patches = load_patches(write_gaze(tmp_path / "gaze.h5"), use_cache=False)
    assert patches.look_vec is not None
    assert len(patches.look_vec) == len(patches.images)


def test_load_patches_detects_real_gaze(tmp_path):
    patches = load_patches(write_real_gaze(tmp_path / "real.h5"), use_cache=False)
    assert patches.look_vec is None
    assert len(patches) == len(SHUFFLED_NAMES)


def test_eye_patches_frozen(tmp_path):
    patches = load_patches(write_real_gaze(tmp_path / "real.h5"), use_cache=False)
    with pytest.raises(AttributeError):
        patches.images = None


# ---------------------------------------------------------------------------------
# Folder of image files
# ---------------------------------------------------------------------------------


def write_png(path, value, size=(55, 35), mode="L"):
    Image.new(mode, size, value).save(path)
    return path


def test_folder_sorted_by_name(tmp_path):
    for name, value in [("b.png", 20), ("a.PNG", 10), ("c.jpg", 30)]:
        write_png(tmp_path / name, value)
    (tmp_path / "notes.txt").write_text("not an image")
    images = load_folder(tmp_path)
    assert images.shape == (3, *PATCH_SHAPE)
    assert list(images[:, 0, 0]) == [10, 20, 30]


def test_folder_converts_rgb_to_gray(tmp_path):
    write_png(tmp_path / "eye.png", (90, 90, 90), mode="RGB")
    images = load_folder(tmp_path)
    assert images.dtype == np.uint8
    assert images[0, 0, 0] == 90


def test_load_patches_folder(tmp_path):
    write_png(tmp_path / "eye.png", 5)
    patches = load_patches(tmp_path)
    assert len(patches) == 1
    assert patches.look_vec is None


# ---------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------


def test_cache_second_load_skips_h5(tmp_path, monkeypatch):
    path = write_real_gaze(tmp_path / "real.h5")
    first = load_real_gaze(path)
    monkeypatch.setattr(h5py, "File", fail_h5_open)
    assert np.array_equal(load_real_gaze(path), first)


def test_cache_logs_hit(tmp_path, caplog):
    path = write_real_gaze(tmp_path / "real.h5")
    load_real_gaze(path)
    with caplog.at_level(logging.INFO, logger="eyegan.data"):
        load_real_gaze(path)
    assert "from cache" in caplog.text


def test_cache_bypassed(tmp_path, cache_dir):
    path = write_real_gaze(tmp_path / "real.h5")
    load_real_gaze(path, use_cache=False)
    assert not cache_dir.exists()


def test_cache_dir_argument(tmp_path):
    path = write_real_gaze(tmp_path / "real.h5")
    folder = tmp_path / "other-cache"
    load_real_gaze(path, cache_dir=folder)
    assert len(list(folder.glob("*.npz"))) == 1


def test_cache_invalidated_by_size(tmp_path):
    path = write_real_gaze(tmp_path / "real.h5")
    load_real_gaze(path)
    write_real_gaze(path, names=SHUFFLED_NAMES + ["7"])
    assert len(load_real_gaze(path)) == len(SHUFFLED_NAMES) + 1


def test_cache_invalidated_by_mtime(tmp_path):
    path = write_real_gaze(tmp_path / "real.h5")
    load_real_gaze(path)
    size = path.stat().st_size
    with h5py.File(path, "r+") as file:
        file["image/3"][0, 0] = 99
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert path.stat().st_size == size
    images = load_real_gaze(path)
    assert images[0, 0, 0] == 99


def test_cache_corrupt_file_rewritten(tmp_path, cache_dir, caplog, monkeypatch):
    path = write_real_gaze(tmp_path / "real.h5")
    load_real_gaze(path)
    (cache_file,) = cache_dir.glob("*.npz")
    cache_file.write_bytes(b"not an npz file")
    with caplog.at_level(logging.WARNING, logger="eyegan.data"):
        images = load_real_gaze(path)
    assert "unreadable cache" in caplog.text
    assert list(images[:, 0, 0]) == sorted_values(SHUFFLED_NAMES)
    monkeypatch.setattr(h5py, "File", fail_h5_open)
    assert np.array_equal(load_real_gaze(path), images)


def test_cache_truncated_file_ignored(tmp_path, cache_dir):
    path = write_real_gaze(tmp_path / "real.h5")
    load_real_gaze(path)
    (cache_file,) = cache_dir.glob("*.npz")
    cache_file.write_bytes(cache_file.read_bytes()[:200])
    assert list(load_real_gaze(path)[:, 0, 0]) == sorted_values(SHUFFLED_NAMES)


def test_cache_wrong_shapes_ignored(tmp_path, cache_dir):
    path = write_gaze(tmp_path / "gaze.h5")
    load_gaze(path)
    (cache_file,) = cache_dir.glob("*.npz")
    with np.load(cache_file) as stored:
        arrays = dict(stored)
    arrays["look_vec"] = arrays["look_vec"][:2]
    np.savez(cache_file, **arrays)
    images, look_vec = load_gaze(path)
    assert len(look_vec) == len(images)


def test_cache_leaves_no_temp_files(tmp_path, cache_dir):
    path = write_real_gaze(tmp_path / "real.h5")
    load_real_gaze(path)
    load_gaze(write_gaze(tmp_path / "gaze.h5"))
    names = sorted(file.suffix for file in cache_dir.iterdir())
    assert names == [".npz", ".npz"]


def test_cache_failed_write_cleans_up(tmp_path, cache_dir, monkeypatch):
    def fail_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail_savez)
    images = load_real_gaze(write_real_gaze(tmp_path / "real.h5"))
    assert len(images) == len(SHUFFLED_NAMES)
    assert list(cache_dir.iterdir()) == []


# ---------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------


def test_missing_h5_file(tmp_path):
    with pytest.raises(DataError, match="missing.h5.*not found"):
        load_real_gaze(tmp_path / "missing.h5")


def test_missing_source(tmp_path):
    with pytest.raises(DataError, match="missing.h5.*not found"):
        load_patches(tmp_path / "missing.h5")


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no-such-folder.*not found"):
        load_folder(tmp_path / "no-such-folder")


def test_not_hdf5(tmp_path):
    path = tmp_path / "text.h5"
    path.write_text("this is not HDF5\n" * 100)
    with pytest.raises(DataError, match="text.h5.*failed to read as HDF5"):
        load_real_gaze(path, use_cache=False)


def test_truncated_hdf5(tmp_path):
    path = write_real_gaze(tmp_path / "cut.h5", names=[str(n) for n in range(50)])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="cut.h5"):
        load_real_gaze(path, use_cache=False)


def test_no_image_group(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as file:
        file.create_group("pictures")
    with pytest.raises(DataError, match="other.h5.*no 'image' group"):
        load_real_gaze(path, use_cache=False)


def test_empty_image_group(tmp_path):
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as file:
        file.create_group("image")
    with pytest.raises(DataError, match="empty.h5.*is empty"):
        load_real_gaze(path, use_cache=False)


def test_patch_wrong_shape(tmp_path):
    path = tmp_path / "shape.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("image/5", data=np.zeros((36, 60), dtype=np.uint8))
    with pytest.raises(DataError, match=r"shape.h5.*'/image/5'.*\(36, 60\).*\(35, 55\)"):
        load_real_gaze(path, use_cache=False)


def test_patch_wrong_dtype(tmp_path):
    path = tmp_path / "dtype.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("image/5", data=np.zeros(PATCH_SHAPE, dtype=np.float32))
    with pytest.raises(DataError, match="dtype.h5.*'/image/5'.*float32.*uint8"):
        load_real_gaze(path, use_cache=False)


def test_look_vec_count_mismatch(tmp_path):
    path = write_gaze(tmp_path / "gaze.h5", look_names=SHUFFLED_NAMES[:-1])
    with pytest.raises(DataError, match="gaze.h5.*5 datasets for 6 images"):
        load_gaze(path, use_cache=False)


def test_look_vec_name_mismatch(tmp_path):
    path = write_gaze(tmp_path / "gaze.h5", look_names=SHUFFLED_NAMES[:-1] + ["9999"])
    with pytest.raises(DataError, match=r"gaze.h5.*\['42'\].*\['9999'\]"):
        load_gaze(path, use_cache=False)


def test_look_vec_wrong_shape(tmp_path):
    path = write_real_gaze(tmp_path / "gaze.h5", names=["1"])
    with h5py.File(path, "r+") as file:
        file.create_dataset("look_vec/1", data=np.zeros(2))
    with pytest.raises(DataError, match=r"gaze.h5.*'/look_vec/1'.*\(2,\)"):
        load_gaze(path, use_cache=False)


def test_gaze_without_look_vec(tmp_path):
    path = write_real_gaze(tmp_path / "real.h5")
    with pytest.raises(DataError, match="real.h5.*no 'look_vec' group"):
        load_gaze(path, use_cache=False)


def test_folder_without_images(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match=f"{tmp_path.name}.*no image files"):
        load_folder(tmp_path)


def test_folder_image_wrong_size(tmp_path):
    write_png(tmp_path / "a.png", 1)
    write_png(tmp_path / "big.png", 1, size=(60, 36))
    with pytest.raises(DataError, match=r"big.png.*60x36.*55x35"):
        load_folder(tmp_path)


def test_folder_unreadable_image(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png.*failed to read as an image"):
        load_folder(tmp_path)


# ---------------------------------------------------------------------------------
# EYEGAN_DATA and the default renderer
# ---------------------------------------------------------------------------------


def test_env_var_selects_file(tmp_path, monkeypatch):
    path = write_gaze(tmp_path / "gaze.h5")
    monkeypatch.setenv(DATA_ENV_VAR, str(path))
    patches = load_patches()
    assert patches.source == str(path)
    assert patches.look_vec is not None


def test_env_var_selects_folder(tmp_path, monkeypatch):
    write_png(tmp_path / "eye.png", 3)
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    assert load_patches().source == str(tmp_path)


def test_argument_overrides_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(write_gaze(tmp_path / "gaze.h5")))
    path = write_real_gaze(tmp_path / "real.h5")
    assert load_patches(path).source == str(path)


def test_env_var_missing_path(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "gone.h5"))
    with pytest.raises(DataError, match=f"gone.h5.*not found.*{DATA_ENV_VAR}"):
        load_patches()


def test_default_renders_patches():
    pytest.importorskip("eyegan.render", reason="eyegan.render is not written yet")
    patches = load_patches(n_default=8, seed=3)
    assert patches.images.shape == (8, *PATCH_SHAPE)
    assert patches.images.dtype == np.uint8
    assert patches.look_vec.shape == (8, 3)
    assert "render" in patches.source


def test_default_render_repeatable():
    pytest.importorskip("eyegan.render", reason="eyegan.render is not written yet")
    first = load_patches(n_default=4, seed=1)
    second = load_patches(n_default=4, seed=1)
    assert np.array_equal(first.images, second.images)


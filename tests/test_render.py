"""Tests for the procedural eye renderer in eyegan.render."""

import h5py
import numpy as np
import pytest

from eyegan import render
from eyegan.data import PATCH_SHAPE
from eyegan.render import render_eyes, write_gaze_h5

# Pixel statistics measured over the histogram-equalised patches of the Kaggle gaze.h5,
# and the allowed difference.
REAL_PIXEL_MEAN = 129.4
REAL_PIXEL_STD = 73.7
PIXEL_STAT_TOLERANCE = 5.0

# Pixels at or below this value are the darkest 5% of an equalised patch: pupil, iris
# and lash line.
DARKEST_LEVEL = 13


def dark_centroid(images: np.ndarray, axis: int) -> np.ndarray:
    """Return each patch's mean row (axis=1) or column (axis=2) of its darkest pixels."""
    dark = images <= DARKEST_LEVEL
    shape = [1, 1, 1]
    shape[axis] = images.shape[axis]
    positions = np.arange(images.shape[axis]).reshape(shape)
    return (dark * positions).sum(axis=(1, 2)) / dark.sum(axis=(1, 2))


def test_same_seed_identical():
    first = render_eyes(64, seed=7)
    second = render_eyes(64, seed=7)
    assert first.images.tobytes() == second.images.tobytes()
    assert np.array_equal(first.look_vec, second.look_vec)
    assert np.array_equal(first.pupil_size, second.pupil_size)


def test_different_seeds_differ():
    first = render_eyes(64, seed=7)
    second = render_eyes(64, seed=8)
    assert not np.array_equal(first.images, second.images)
    assert not np.array_equal(first.yaw, second.yaw)


def test_shapes_and_dtypes():
    eyes = render_eyes(5, seed=1)
    assert len(eyes) == 5
    assert eyes.images.shape == (5, *PATCH_SHAPE)
    assert eyes.images.dtype == np.uint8
    assert eyes.look_vec.shape == (5, 3)
    assert eyes.look_vec.dtype == np.float32
    for label in (eyes.yaw, eyes.pitch, eyes.eyelid_opening, eyes.pupil_size):
        assert label.shape == (5,)
        assert label.dtype == np.float32


def test_more_than_one_chunk():
    eyes = render_eyes(render.RENDER_CHUNK + 3, seed=2)
    assert eyes.images.shape == (render.RENDER_CHUNK + 3, *PATCH_SHAPE)
    # The last chunk is drawn, not left as the zeros of np.empty or a copy of patch 0.
    assert eyes.images[-1].std() > 50
    assert not np.array_equal(eyes.images[-1], eyes.images[0])


def test_default_label_ranges():
    eyes = render_eyes(500, seed=3)
    cases = [
        (eyes.yaw, render.DEFAULT_YAW_DEG),
        (eyes.pitch, render.DEFAULT_PITCH_DEG),
        (eyes.eyelid_opening, render.DEFAULT_EYELID_OPENING),
        (eyes.pupil_size, render.DEFAULT_PUPIL_SIZE),
    ]
    for values, (low, high) in cases:
        assert values.min() >= low
        assert values.max() <= high
        # Uniform sampling over 500 patches reaches close to both ends of the range.
        assert values.min() < low + 0.05 * (high - low)
        assert values.max() > high - 0.05 * (high - low)


def test_look_vec_matches_angles():
    eyes = render_eyes(200, seed=4)
    yaw = np.radians(eyes.yaw)
    pitch = np.radians(eyes.pitch)
    np.testing.assert_allclose(np.linalg.norm(eyes.look_vec, axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(eyes.look_vec[:, 0], np.sin(yaw) * np.cos(pitch), atol=1e-6)
    np.testing.assert_allclose(eyes.look_vec[:, 1], np.sin(pitch), atol=1e-6)
    np.testing.assert_allclose(eyes.look_vec[:, 2], np.cos(yaw) * np.cos(pitch), atol=1e-6)


def test_fixed_labels_returned():
    sweep = np.linspace(-40, 40, 9)
    eyes = render_eyes(9, seed=5, yaw=sweep, pitch=10, eyelid_opening=0.3, pupil_size=0.5)
    np.testing.assert_allclose(eyes.yaw, sweep, atol=1e-5)
    assert np.all(eyes.pitch == np.float32(10))
    assert np.all(eyes.eyelid_opening == np.float32(0.3))
    assert np.all(eyes.pupil_size == np.float32(0.5))
    assert eyes.look_vec[0, 0] < 0
    assert eyes.look_vec[-1, 0] > 0


def test_fixed_label_keeps_other_draws():
    free = render_eyes(50, seed=6)
    fixed = render_eyes(50, seed=6, yaw=0.0)
    assert np.array_equal(free.pitch, fixed.pitch)
    assert np.array_equal(free.pupil_size, fixed.pupil_size)


def test_pixel_statistics():
    images = render_eyes(2000, seed=0).images.astype(np.float64)
    assert abs(images.mean() - REAL_PIXEL_MEAN) < PIXEL_STAT_TOLERANCE
    assert abs(images.std() - REAL_PIXEL_STD) < PIXEL_STAT_TOLERANCE


def test_every_patch_uses_full_range():
    images = render_eyes(100, seed=9).images
    assert images.min(axis=(1, 2)).max() <= 1
    assert images.max(axis=(1, 2)).min() >= 254


def test_yaw_moves_iris_right():
    # The same seed draws the same eyes, so only the gaze differs between the batches.
    left = render_eyes(200, seed=3, yaw=-25, pitch=0, eyelid_opening=0.9).images
    right = render_eyes(200, seed=3, yaw=25, pitch=0, eyelid_opening=0.9).images
    left_x = dark_centroid(left, axis=2)
    right_x = dark_centroid(right, axis=2)
    assert right_x.mean() - left_x.mean() > 5
    assert np.mean(right_x > left_x) > 0.95


def test_pitch_moves_iris_up():
    down = render_eyes(200, seed=3, yaw=0, pitch=-20, eyelid_opening=0.9).images
    up = render_eyes(200, seed=3, yaw=0, pitch=20, eyelid_opening=0.9).images
    down_y = dark_centroid(down, axis=1)
    up_y = dark_centroid(up, axis=1)
    assert down_y.mean() - up_y.mean() > 3
    assert np.mean(up_y < down_y) > 0.95


def test_open_eye_shows_more_iris():
    # In the middle of the patch an open eye shows its iris and pupil, while a nearly
    # closed one shows only the lash line.
    middle = (slice(None), slice(11, 25), slice(17, 39))
    closed = render_eyes(300, seed=3, eyelid_opening=0.1).images[middle]
    opened = render_eyes(300, seed=3, eyelid_opening=0.9).images[middle]
    closed_dark = (closed <= DARKEST_LEVEL).mean(axis=(1, 2))
    opened_dark = (opened <= DARKEST_LEVEL).mean(axis=(1, 2))
    assert opened_dark.mean() - closed_dark.mean() > 0.05
    assert np.mean(opened_dark > closed_dark) > 0.85


def test_larger_pupil_darker_centre():
    # Equalisation fixes how many pixels are darkest in each patch. A larger pupil
    # gathers more of them in the middle of the iris, away from the lash line.
    centre = (slice(None), slice(12, 24), slice(20, 36))
    pose = {"yaw": 0, "pitch": 0, "eyelid_opening": 1}
    small = render_eyes(200, seed=4, pupil_size=0.2, **pose).images[centre]
    large = render_eyes(200, seed=4, pupil_size=0.7, **pose).images[centre]
    small_dark = (small <= DARKEST_LEVEL).mean(axis=(1, 2))
    large_dark = (large <= DARKEST_LEVEL).mean(axis=(1, 2))
    assert large_dark.mean() - small_dark.mean() > 0.1
    assert np.mean(large_dark > small_dark) > 0.95


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n": 0}, r"n must be a whole number of at least 1; got 0"),
        ({"n": -3}, r"got -3"),
        ({"n": 2.5}, r"got 2\.5"),
        ({"n": True}, r"got True"),
        ({"n": 4, "yaw": 46}, r"yaw must be within \[-45, 45\] degrees; got 46"),
        ({"n": 4, "pitch": -50}, r"pitch must be within \[-45, 45\] degrees; got -50"),
        ({"n": 4, "eyelid_opening": 1.2}, r"eyelid_opening must be within \[0, 1\]; got 1\.2"),
        ({"n": 4, "pupil_size": 0.05}, r"pupil_size must be within \[0\.1, 0\.8\]; got 0\.05"),
        ({"n": 4, "yaw": float("nan")}, r"yaw must be within \[-45, 45\] degrees; got nan"),
        ({"n": 4, "yaw": [0, 10, 50, 0]}, r"yaw must be within \[-45, 45\] degrees; got 50"),
        (
            {"n": 4, "pitch": [0, 1, 2]},
            r"pitch must be a scalar or an array of n=4 values; got shape \(3,\)",
        ),
    ],
)
def test_invalid_arguments_raise(arguments, message):
    with pytest.raises(ValueError, match=message):
        render_eyes(**arguments)


def test_gaze_h5_round_trip(tmp_path):
    path = write_gaze_h5(tmp_path / "gaze.h5", 12, seed=11)
    expected = render_eyes(12, seed=11)
    names = [str(index) for index in range(12)]

    assert path == tmp_path / "gaze.h5"
    with h5py.File(path, "r") as gaze_file:
        assert sorted(gaze_file.keys()) == ["image", "look_vec", "path"]
        for group in ("image", "look_vec", "path"):
            assert sorted(gaze_file[group].keys(), key=int) == names
        for index, name in enumerate(names):
            image = gaze_file["image"][name]
            look_vec = gaze_file["look_vec"][name]
            assert image.shape == PATCH_SHAPE
            assert image.dtype == np.uint8
            assert np.array_equal(image[()], expected.images[index])
            assert look_vec.shape == (3,)
            assert look_vec.dtype == np.float32
            assert np.array_equal(look_vec[()], expected.look_vec[index])
            assert gaze_file["path"][name].asstr()[()] == f"rendered/{index:06d}.png"


def test_gaze_h5_no_temporary_left(tmp_path):
    write_gaze_h5(tmp_path / "gaze.h5", 3)
    assert [entry.name for entry in tmp_path.iterdir()] == ["gaze.h5"]


def test_gaze_h5_replaces_existing(tmp_path):
    path = tmp_path / "gaze.h5"
    path.write_bytes(b"not an HDF5 file")
    write_gaze_h5(path, 2)
    with h5py.File(path, "r") as gaze_file:
        assert len(gaze_file["image"]) == 2


def test_gaze_h5_failed_write_cleans_up(tmp_path, monkeypatch):
    def fail_while_writing(filename, eyes):
        with open(filename, "wb") as partial:
            partial.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(render, "_write_gaze_groups", fail_while_writing)
    with pytest.raises(OSError, match="disk full"):
        write_gaze_h5(tmp_path / "gaze.h5", 2)
    assert list(tmp_path.iterdir()) == []


def test_gaze_h5_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_gaze_h5(tmp_path / "missing" / "gaze.h5", 2)


def test_gaze_h5_invalid_count(tmp_path):
    with pytest.raises(ValueError, match="n must be a whole number"):
        write_gaze_h5(tmp_path / "gaze.h5", 0)
    assert list(tmp_path.iterdir()) == []

"""The chapter's interactive views: their computations, and the widgets without a frontend."""

import base64
import io
import json

import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter
from PIL import Image

from eyegan import cli, data, metrics, models, render, widgets
from eyegan._tf import keras

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LATENT_DIM = models.LATENT_DIM
# Step of the central differences that measure how much a direction changes the image.
STEP = 0.01


@pytest.fixture(scope="module")
def generator():
    return models.build_generator(seed=0)


@pytest.fixture(scope="module")
def directions(generator):
    return widgets.latent_directions(generator, LATENT_DIM, anchors=2, seed=0)


def measured_change(generator, anchors, direction):
    """RMS change of the content pixels per latent unit along ``direction``, by central differences."""
    up = data.unpad(widgets.generate(generator, anchors + STEP * direction))
    down = data.unpad(widgets.generate(generator, anchors - STEP * direction))
    return float(np.sqrt((((up - down) / (2 * STEP)) ** 2).mean()))


def linear_generator(weights):
    """A generator whose Jacobian is ``weights`` (2048, latent_dim), in model units, everywhere."""
    latent_dim = weights.shape[1]
    noise = keras.Input(shape=(latent_dim,))
    dense = keras.layers.Dense(weights.shape[0], use_bias=False)
    flat = dense(noise)
    dense.set_weights([weights.T])
    return keras.Model(noise, keras.layers.Reshape(data.IMAGE_SHAPE)(flat))


def png_size(png_bytes):
    with Image.open(io.BytesIO(png_bytes)) as image:
        return image.size


def expected_size(figsize):
    width, height = figsize
    return round(width * widgets.WIDGET_DPI), round(height * widgets.WIDGET_DPI)


def dark_spread(patch):
    """Column and row spread (std) of the darkest 5% of a patch's pixels, and their centroid."""
    rows, columns = np.nonzero(patch <= np.quantile(patch, 0.05))
    return columns.std(), rows.std(), columns.mean(), rows.mean()


# Latent directions


def test_directions_orthonormal(directions):
    gram = directions.vectors.astype(np.float64) @ directions.vectors.T
    assert directions.vectors.shape == (LATENT_DIM, LATENT_DIM)
    np.testing.assert_allclose(gram, np.eye(LATENT_DIM), atol=1e-5)


def test_directions_sorted_by_change(directions):
    assert np.all(np.diff(directions.pixel_change) <= 0)
    assert directions.pixel_change[0] > 1.5 * directions.pixel_change[-1]


def test_measured_change_decreases(generator, directions):
    anchors = np.random.default_rng(0).standard_normal((2, LATENT_DIM)).astype(np.float32)
    picks = [0, 2, 15, 31, 47, 63]
    measured = [measured_change(generator, anchors, directions.vectors[k]) for k in picks]

    assert np.all(np.diff(measured) < 0), measured
    # The reported change is the first-order change the differences measure.
    np.testing.assert_allclose(measured, directions.pixel_change[picks], rtol=0.05)


def test_top_direction_beats_random(generator, directions):
    anchors = np.random.default_rng(0).standard_normal((2, LATENT_DIM)).astype(np.float32)
    random_directions = np.random.default_rng(1).standard_normal((20, LATENT_DIM))
    random_directions /= np.linalg.norm(random_directions, axis=1, keepdims=True)

    top = measured_change(generator, anchors, directions.vectors[0])
    random_changes = [measured_change(generator, anchors, d) for d in random_directions]

    assert top > max(random_changes)


def test_directions_of_linear_generator():
    # Singular values 8, 4, 2, 1 and 0 elsewhere, on the content columns only.
    rng = np.random.default_rng(3)
    content = np.zeros(data.IMAGE_SHAPE[:2], dtype=bool)
    content[:, data.PAD_LEFT:data.PAD_LEFT + data.PATCH_SHAPE[1]] = True
    left, _ = np.linalg.qr(rng.standard_normal((content.sum(), 4)))
    right, _ = np.linalg.qr(rng.standard_normal((8, 4)))
    singular = np.array([8.0, 4.0, 2.0, 1.0]) * 1e-3
    weights = np.zeros((content.size, 8))
    weights[content.ravel()] = left @ np.diag(singular) @ right.T
    generator = linear_generator(weights.astype(np.float32))

    found = widgets.latent_directions(generator, 4, anchors=1)

    expected = singular * data.NORM_STD / np.sqrt(content.sum())
    np.testing.assert_allclose(found.pixel_change, expected, rtol=1e-4)
    # Each direction is the matching right singular vector, up to sign.
    overlaps = np.abs(np.sum(found.vectors * right.T, axis=1))
    np.testing.assert_allclose(overlaps, 1.0, atol=1e-4)


def test_direction_sweep_matches_linear_generator():
    weights = np.random.default_rng(6).normal(0, 0.02, (2048, 8)).astype(np.float32)
    generator = linear_generator(weights)
    directions = np.eye(8, dtype=np.float32)[:2]
    offsets = [-2.0, 0.0, 2.0]

    sweep = widgets.direction_sweep(generator, directions, seed=4, offsets=offsets)

    base = widgets.latent_for_seed(4, 8)
    assert sweep.shape == (2, 3, 32, 64)
    assert sweep.dtype == np.uint8
    for row, direction in enumerate(directions):
        for column, offset in enumerate(offsets):
            model_values = (weights @ (base + offset * direction)).reshape(32, 64)
            expected = np.rint(data.denormalize(model_values))
            assert np.abs(sweep[row, column].astype(int) - expected).max() <= 1
    assert np.abs(sweep[0, 2].astype(int) - sweep[0, 0]).mean() > 2


def test_directions_invalid_count(generator):
    with pytest.raises(ValueError, match="count"):
        widgets.latent_directions(generator, LATENT_DIM + 1, anchors=1)


# Interpolation


def test_interpolation_endpoints_equal_outputs(generator):
    start = widgets.latent_for_seed(0, LATENT_DIM)
    end = widgets.latent_for_seed(1, LATENT_DIM)
    for method in widgets.INTERPOLATION_METHODS:
        frames = widgets.interpolate(generator, start, end, np.linspace(0, 1, 5), method)

        assert frames.shape == (5, 32, 64)
        np.testing.assert_allclose(frames[0], widgets.generate(generator, start)[0], atol=1e-3)
        np.testing.assert_allclose(frames[-1], widgets.generate(generator, end)[0], atol=1e-3)
        assert np.abs(frames[2] - frames[0]).max() > 0


def test_interpolation_points_exact_endpoints():
    start = widgets.latent_for_seed(4, LATENT_DIM)
    end = widgets.latent_for_seed(5, LATENT_DIM)
    points = widgets.interpolation_points(start, end, [0.0, 1.0], "spherical")
    np.testing.assert_array_equal(points[0], start)
    np.testing.assert_array_equal(points[1], end)


def test_spherical_keeps_norm_linear_shrinks():
    rng = np.random.default_rng(2)
    start, end = rng.standard_normal((2, LATENT_DIM))
    start *= 8 / np.linalg.norm(start)
    end *= 8 / np.linalg.norm(end)
    t = np.linspace(0, 1, 11)

    spherical = np.linalg.norm(widgets.interpolation_points(start, end, t, "spherical"), axis=1)
    linear = np.linalg.norm(widgets.interpolation_points(start, end, t, "linear"), axis=1)

    np.testing.assert_allclose(spherical, 8.0, rtol=1e-5)
    angle = np.arccos(start @ end / 64)
    np.testing.assert_allclose(linear[5], 8 * np.cos(angle / 2), rtol=1e-5)


def test_spherical_parallel_falls_back_to_linear():
    start = np.ones(LATENT_DIM)
    points = widgets.interpolation_points(start, 3 * start, [0.5], "spherical")
    np.testing.assert_allclose(points[0], 2 * start)


def test_interpolation_invalid_method():
    with pytest.raises(ValueError, match="method"):
        widgets.interpolation_points(np.ones(4), np.zeros(4), 0.5, "cubic")


# Epochs


HISTORY = {"epoch": [1, 2, 3], "g_loss": [0.9, 0.7, 0.8], "d_real": [0.5, 0.6, 0.55]}


def test_epoch_metrics_values():
    assert widgets.epoch_metrics(HISTORY, 2) == {"g_loss": 0.7, "d_real": 0.6}
    assert widgets.epoch_metrics(HISTORY, 0) == {}


def test_epoch_metrics_missing_epoch():
    with pytest.raises(KeyError, match="epoch 4"):
        widgets.epoch_metrics(HISTORY, 4)


# Nearest neighbours


@pytest.fixture(scope="module")
def reference():
    return np.random.default_rng(7).integers(0, 256, (300, 32, 55), dtype=np.uint8)


def test_neighbors_match_brute_force(reference):
    query = np.random.default_rng(8).uniform(0, 255, (32, 55))
    brute = np.sqrt(((reference.astype(np.float64) - query) ** 2).mean(axis=(1, 2)))

    found = widgets.nearest_neighbors(query, reference, k=6)

    np.testing.assert_array_equal(found.indices, np.argsort(brute)[:6])
    np.testing.assert_allclose(found.distances, np.sort(brute)[:6], rtol=1e-12)
    assert np.all(np.diff(found.distances) >= 0)
    closest = metrics.nearest_neighbor_distances(query[np.newaxis], reference)[0]
    assert found.distances[0] == pytest.approx(closest, rel=1e-9)


def test_training_patch_is_its_own_neighbor(reference):
    found = widgets.nearest_neighbors(reference[123], reference, k=3)
    assert found.indices[0] == 123
    assert found.distances[0] == 0.0
    assert found.distances[1] > 0.0


def test_neighbors_k_above_set_size(reference):
    found = widgets.nearest_neighbors(reference[0], reference[:4], k=10)
    assert len(found.indices) == 4


def test_neighbors_reject_mismatched_size(reference):
    with pytest.raises(ValueError, match="shape"):
        widgets.nearest_neighbors(np.zeros((32, 64)), reference)


def write_run(folder, seed, source=None):
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"seed": seed}))
    if source is not None:
        (folder / cli.DATA_SOURCE_FILE).write_text(source + "\n")
    return folder


def test_training_patches_rendered_source(tmp_path):
    run = write_run(tmp_path / "run", 0, "eyegan.render.render_eyes(20, seed=3)")
    expected = render.render_eyes(20, seed=3).images[:, data.CROP_ROWS, :]

    patches = widgets.training_patches(run)

    assert patches.shape == (20, 32, 55)
    np.testing.assert_array_equal(patches, expected)
    assert len(widgets.training_patches(run, count=15)) == 15


def test_training_patches_without_source_file(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEFAULT_RENDER_COUNT", 12)
    run = write_run(tmp_path / "run", 5)
    expected = render.render_eyes(12, seed=5).images[:, data.CROP_ROWS, :]
    np.testing.assert_array_equal(widgets.training_patches(run), expected)


def test_training_patches_folder_source(tmp_path):
    folder = tmp_path / "patches"
    folder.mkdir()
    raw = render.render_eyes(3, seed=1).images
    for index, patch in enumerate(raw):
        Image.fromarray(patch).save(folder / f"{index}.png")
    run = write_run(tmp_path / "run", 0, str(folder))

    np.testing.assert_array_equal(widgets.training_patches(run), raw[:, data.CROP_ROWS, :])


def test_training_patches_missing_source(tmp_path):
    run = write_run(tmp_path / "run", 0, str(tmp_path / "gone.h5"))
    with pytest.raises(data.DataError, match="gone.h5"):
        widgets.training_patches(run)


# Rendered eye


def test_render_eye_closing_lids_stretches_dark_pixels():
    # Equalisation makes 5% of every patch's pixels the darkest, open or closed.
    # In an open eye they form the iris disk, in a closed one the lash line.
    for seed in range(4):
        spreads = [dark_spread(widgets.render_eye(eyelid_opening=opening, seed=seed))[0]
                   for opening in (1.0, 0.6, 0.3, 0.05)]
        assert np.all(np.diff(spreads) > 0), spreads
        assert spreads[-1] > spreads[0] + 3


def test_render_eye_follows_gaze():
    for seed in range(4):
        left = dark_spread(widgets.render_eye(yaw=-30, seed=seed))
        right = dark_spread(widgets.render_eye(yaw=30, seed=seed))
        up = dark_spread(widgets.render_eye(pitch=25, seed=seed))
        down = dark_spread(widgets.render_eye(pitch=-25, seed=seed))
        assert right[2] > left[2] + 8
        assert down[3] > up[3] + 6


def test_render_eye_matches_renderer():
    eye = widgets.render_eye(yaw=10, pitch=-5, eyelid_opening=0.7, pupil_size=0.3, seed=9)
    batch = render.render_eyes(1, 9, yaw=10, pitch=-5, eyelid_opening=0.7, pupil_size=0.3)
    assert eye.shape == (35, 55)
    np.testing.assert_array_equal(eye, batch.images[0])


# Widgets without a frontend


@pytest.fixture(scope="module")
def views(generator, directions, reference):
    grids = {epoch: np.full((20, 30), 40 * epoch, dtype=np.uint8) for epoch in range(4)}
    return {
        "latent": (widgets.latent_explorer(generator, directions, count=3), widgets.EXPLORER_FIGSIZE),
        "interpolation": (widgets.interpolation_explorer(generator), widgets.INTERPOLATION_FIGSIZE),
        "epochs": (widgets.epoch_scrubber(grids, HISTORY), widgets.EPOCH_FIGSIZE),
        "neighbors": (widgets.neighbor_explorer(generator, reference, k=4),
                      (5 * widgets.NEIGHBOR_PANEL_WIDTH, widgets.NEIGHBOR_FIGURE_HEIGHT)),
        "renderer": (widgets.renderer_explorer(), widgets.RENDERER_FIGSIZE),
    }


@pytest.mark.parametrize("name", ["latent", "interpolation", "epochs", "neighbors", "renderer"])
def test_widget_static_png_size(views, name):
    view, figsize = views[name]
    assert view.png.startswith(b"\x89PNG")
    assert png_size(view.png) == expected_size(figsize)
    assert view.image.value == view.png


@pytest.mark.parametrize("name", ["latent", "interpolation", "epochs", "neighbors", "renderer"])
def test_widget_bundle_has_view_and_png(views, name):
    view, _ = views[name]
    bundle, _ = DisplayFormatter().format(view)

    assert bundle[WIDGET_VIEW]["model_id"] == view.widget.model_id
    assert base64.b64decode(bundle["image/png"]) == view.png
    assert "live in Jupyter" in bundle["text/plain"]


def test_latent_explorer_controls_redraw(views):
    view, _ = views["latent"]
    assert list(view.controls) == ["seed", "direction_1", "direction_2", "direction_3"]

    view.controls["direction_1"].value = 2.0
    moved = view.image.value
    view.controls["direction_1"].value = 0.0

    assert moved != view.png
    assert view.image.value == view.png


def test_latent_explorer_new_sample_changes_seed(views):
    view, _ = views["latent"]
    button = view.widget.children[0].children[-1]
    before = view.controls["seed"].value

    button.click()

    assert view.controls["seed"].value != before
    assert view.image.value != view.png
    view.controls["seed"].value = before


def test_renderer_explorer_redraws_on_eyelid(views):
    view, _ = views["renderer"]
    view.controls["eyelid_opening"].value = 0.1
    closed = view.image.value
    view.controls["eyelid_opening"].value = 1.0

    assert closed != view.png
    assert view.image.value == view.png


def test_epoch_scrubber_starts_at_last_epoch(views):
    view, _ = views["epochs"]
    assert view.controls["epoch"].value == 3
    view.controls["epoch"].value = 0
    untrained = view.image.value
    view.controls["epoch"].value = 3
    assert untrained != view.png

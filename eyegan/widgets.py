"""Interactive views of a trained generator, and the computations behind them.

The compute functions take and return arrays and need no frontend, so tests can
check their values: :func:`latent_directions`, :func:`direction_sweep`,
:func:`interpolation_points`, :func:`interpolate`, :func:`epoch_metrics`,
:func:`training_patches`, :func:`nearest_neighbors` and :func:`render_eye`.

The widget functions (:func:`latent_explorer`, :func:`interpolation_explorer`,
:func:`epoch_scrubber`, :func:`neighbor_explorer`, :func:`renderer_explorer`)
wire those to ipywidgets controls and return a :class:`LiveView`. A LiveView
displays as one output with two representations. Jupyter and Colab show the
live widget. Pages without a kernel show a PNG of the widget's default state
instead: the HTML book, whose ``_config.yml`` ranks the widget view out, and
notebook viewers without a widget manager.

Pixel values are in [0, 255]. Generated images are compared with training
patches on their 32x55 content region (:func:`eyegan.data.unpad`).
"""

import base64
import dataclasses
import io
import json
import re
from pathlib import Path

import numpy as np

from eyegan import cli, data, metrics, plotting, render

# Resolution of every widget picture. Figure sizes below are in inches, so a
# picture is (width * WIDGET_DPI) x (height * WIDGET_DPI) pixels.
WIDGET_DPI = 100
EXPLORER_FIGSIZE = (4.5, 3.0)
INTERPOLATION_FIGSIZE = (8.0, 3.6)
EPOCH_FIGSIZE = (7.5, 3.4)
NEIGHBOR_PANEL_WIDTH = 1.6  # Inches per image in the nearest-neighbour row.
NEIGHBOR_FIGURE_HEIGHT = 1.7
RENDERER_FIGSIZE = (4.5, 3.2)

# Sliders of the latent explorer, one per leading direction.
DIRECTION_COUNT = 5
# Standard normal noise vectors that latent_directions averages the Jacobian
# over. Eight took 1.5 to 5 s per call on 2 CPU cores shared with other jobs
# (TensorFlow 2.21, the reference generator).
DIRECTION_ANCHORS = 8
# Slider range along a direction, in latent units. The noise is standard normal
# along any unit vector, so +-3 covers 99.7% of it.
DIRECTION_RANGE = 3.0
DIRECTION_SLIDER_STEP = 0.25

# Paths of interpolation_points. "spherical" keeps the norm of endpoints of
# equal norm along the whole path.
INTERPOLATION_METHODS = ("spherical", "linear")
INTERPOLATION_FRAMES = 8
# Below this sine of the angle between the endpoints, spherical interpolation is
# numerically unstable and :func:`interpolation_points` falls back to linear.
SPHERICAL_MIN_SINE = 1e-6

# Nearest neighbours shown per generated eye.
NEIGHBOR_COUNT = 5
# Reference rows compared with the query at a time, to bound memory.
_NEIGHBOR_CHUNK = 2048

# Source string of rendered patches, as eyegan.data.load_patches writes it and
# `python -m eyegan train` records it in a run's data_source.txt.
RENDERED_SOURCE = re.compile(r"eyegan\.render\.render_eyes\((?P<count>\d+), seed=(?P<seed>-?\d+)\)")

# Largest seed that the seed controls accept and the "new sample" buttons draw.
MAX_SEED = 2**31 - 1

# Pupil radius over iris radius of render_eye's default eye, inside
# render.DEFAULT_PUPIL_SIZE, the range that training eyes are drawn from.
DEFAULT_PUPIL_SIZE = 0.4


# ---------------------------------------------------------------------------------
# Compute functions
# ---------------------------------------------------------------------------------


def latent_for_seed(seed, latent_dim):
    """Return the noise vector of ``seed``: float32 (latent_dim,), standard normal.

    It is the first row of ``numpy.random.default_rng(seed).standard_normal``,
    the same vector ``python -m eyegan sample --seed SEED`` draws first.
    """
    return np.random.default_rng(seed).standard_normal(latent_dim).astype(np.float32)


def generate(generator, latents):
    """Run ``generator`` in inference mode on noise (n, latent_dim) or (latent_dim,).

    Returns float32 pixels (n, 32, 64) in [0, 255]. Inference mode makes batch
    normalization use its moving averages, so each image depends on its own
    noise vector only, not on the rest of the batch.
    """
    latents = np.asarray(latents, dtype=np.float32).reshape(-1, generator.input_shape[-1])
    images = np.asarray(generator(latents, training=False))
    return data.denormalize(images)[..., 0]


@dataclasses.dataclass(frozen=True)
class LatentDirections:
    """Noise directions ordered by how much they change the generated image.

    ``vectors`` is float32 (count, latent_dim) with orthonormal rows.
    ``pixel_change`` is float64 (count,), descending: the RMS change of the
    32x55 content pixels per latent unit moved along each direction, to first
    order, root-mean-squared over the noise vectors the Jacobian was taken at.
    """

    vectors: np.ndarray
    pixel_change: np.ndarray


def content_jacobians(generator, latents):
    """Compute the generator's Jacobians at noise vectors (n, latent_dim).

    Float64 (n, 32 * 55, latent_dim): the derivative of each content pixel, in
    pixel units, with respect to each noise component. Computed exactly by
    automatic differentiation, as Jacobian-vector products of the basis vectors.
    """
    from eyegan._tf import tf

    latents = np.asarray(latents, dtype=np.float32)
    count, latent_dim = latents.shape
    # One row per (noise vector, basis vector) pair.
    inputs = tf.constant(np.repeat(latents, latent_dim, axis=0))
    tangents = tf.constant(np.tile(np.eye(latent_dim, dtype=np.float32), (count, 1)))
    # Forward-mode products J t through reverse mode twice: the gradient of
    # u -> (J^T u) . t with respect to u is J t, for any u, so u can be zero.
    dummy = tf.zeros((count * latent_dim, *generator.output_shape[1:]))
    with tf.GradientTape() as outer:
        outer.watch(dummy)
        with tf.GradientTape() as inner:
            inner.watch(inputs)
            images = generator(inputs, training=False)
        vector_jacobian = inner.gradient(images, inputs, output_gradients=dummy)
        projected = tf.reduce_sum(vector_jacobian * tangents)
    products = np.asarray(outer.gradient(projected, dummy), dtype=np.float64)

    # denormalize is linear (x * NORM_STD + NORM_MEAN) inside the tanh range.
    content = data.unpad(products) * data.NORM_STD
    columns = content.reshape(count, latent_dim, -1)
    return np.transpose(columns, (0, 2, 1))


def latent_directions(generator, count=DIRECTION_COUNT, *, anchors=DIRECTION_ANCHORS, seed=0):
    """Find the ``count`` noise directions that change the generated image most.

    Takes the Jacobian J_i of the content pixels at ``anchors`` standard normal
    noise vectors drawn with ``seed``, averages M = mean_i J_i^T J_i and returns
    M's leading eigenvectors as a :class:`LatentDirections`. A unit direction d
    changes the content by sqrt(d^T M d / pixels) RMS per latent unit, which the
    top eigenvector maximises. Each vector's sign is chosen so that its largest
    component is positive, which makes the result repeatable. Raises ValueError
    unless 1 <= count <= latent_dim and anchors >= 1.
    """
    latent_dim = generator.input_shape[-1]
    if not 1 <= count <= latent_dim:
        raise ValueError(f"count must lie in [1, {latent_dim}] (the noise size), got {count!r}")
    if anchors < 1:
        raise ValueError(f"anchors must be at least 1, got {anchors!r}")

    latents = np.random.default_rng(seed).standard_normal((anchors, latent_dim))
    jacobians = content_jacobians(generator, latents)
    pixels = jacobians.shape[1]
    metric = np.einsum("npi,npj->ij", jacobians, jacobians) / anchors

    eigenvalues, eigenvectors = np.linalg.eigh(metric)
    order = np.argsort(eigenvalues)[::-1][:count]
    vectors = eigenvectors[:, order].T
    signs = np.sign(vectors[np.arange(count), np.abs(vectors).argmax(axis=1)])
    vectors = vectors * signs[:, None]
    pixel_change = np.sqrt(np.maximum(eigenvalues[order], 0.0) / pixels)
    return LatentDirections(vectors.astype(np.float32), pixel_change)


def direction_sweep(generator, directions, seed, offsets):
    """Generate the eye of ``seed`` moved along each direction by each offset.

    ``directions`` is (count, latent_dim), for example
    ``LatentDirections.vectors[:5]``; ``offsets`` is a sequence of latent units.
    Returns uint8 pixels (count, len(offsets), 32, 64), row k for direction k.
    """
    directions = np.asarray(directions, dtype=np.float32)
    offsets = np.asarray(offsets, dtype=np.float32)
    base = latent_for_seed(seed, directions.shape[1])
    latents = base + offsets[np.newaxis, :, np.newaxis] * directions[:, np.newaxis, :]
    pixels = generate(generator, latents.reshape(-1, directions.shape[1]))
    return np.rint(pixels).astype(np.uint8).reshape(len(directions), len(offsets), *pixels.shape[1:])


def interpolation_points(start, end, t, method="spherical"):
    """Return noise vectors on the path from ``start`` to ``end`` at fractions ``t``.

    ``start`` and ``end`` are (latent_dim,); ``t`` is a scalar or a sequence in
    [0, 1]. "linear" returns (1 - t) start + t end. "spherical" (slerp) turns
    ``start`` towards ``end`` through the angle between them, so the path keeps
    the norm of vectors of equal norm, where linear midpoints are shorter. When
    the endpoints are (anti)parallel the angle is ill-defined and "spherical"
    returns the linear path. t = 0 and t = 1 return the endpoints exactly.
    Returns float32 (len(t), latent_dim). Raises ValueError for another method.
    """
    if method not in INTERPOLATION_METHODS:
        raise ValueError(f"method must be one of {INTERPOLATION_METHODS}, got {method!r}")
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))[:, None]

    start_weight, end_weight = 1.0 - t, t
    if method == "spherical":
        cosine = start @ end / (np.linalg.norm(start) * np.linalg.norm(end))
        angle = np.arccos(np.clip(cosine, -1.0, 1.0))
        if np.sin(angle) > SPHERICAL_MIN_SINE:
            start_weight = np.sin((1.0 - t) * angle) / np.sin(angle)
            end_weight = np.sin(t * angle) / np.sin(angle)
    return (start_weight * start + end_weight * end).astype(np.float32)


def interpolate(generator, start, end, t, method="spherical"):
    """Generate the images along the path of :func:`interpolation_points`.

    Returns float32 pixels (len(t), 32, 64) in [0, 255]; the first and last
    equal the generator's images of ``start`` and ``end`` when t starts at 0
    and ends at 1.
    """
    return generate(generator, interpolation_points(start, end, t, method))


def epoch_metrics(history, epoch):
    """Return the history values recorded at the end of ``epoch``.

    ``history`` maps column names to per-epoch lists and has an "epoch"
    column, as :func:`eyegan.pretrained.load_history` returns it. Returns
    {column: float} without "epoch", or {} for epoch 0 (before training).
    Raises KeyError when the history has no row for ``epoch``.
    """
    if epoch == 0:
        return {}
    epochs = [int(value) for value in history["epoch"]]
    if epoch not in epochs:
        raise KeyError(f"the history has no row for epoch {epoch}; it records epochs {epochs}")
    row = epochs.index(epoch)
    return {name: float(values[row]) for name, values in history.items() if name != "epoch"}


def training_patches(run_dir, count=None):
    """Load again the patches a training run used; return their content, uint8 (n, 32, 55).

    ``run_dir`` is a folder written by ``python -m eyegan train``, such as
    :func:`eyegan.pretrained.weights_dir`. Its ``data_source.txt`` names the
    data. A source ``eyegan.render.render_eyes(N, seed=S)`` is rendered again
    with N and S. Any other source is a file or folder that
    :func:`eyegan.data.load_patches` reads, raising DataError when it is
    missing. A run without ``data_source.txt`` (written before ``train``
    recorded it) is taken to be rendered with ``config.json``'s seed and
    ``data.DEFAULT_RENDER_COUNT``, the ``--rendered`` default. ``count``, when
    given, replaces N of a rendered source, for a smaller set. Those are not
    the first ``count`` training patches, because ``render_eyes`` draws a
    different batch for each size.
    """
    run_dir = Path(run_dir)
    source_file = run_dir / cli.DATA_SOURCE_FILE
    if source_file.is_file():
        source = source_file.read_text().strip()
    else:
        seed = int(json.loads((run_dir / "config.json").read_text()).get("seed", 0))
        source = f"eyegan.render.render_eyes({data.DEFAULT_RENDER_COUNT}, seed={seed})"

    rendered = RENDERED_SOURCE.fullmatch(source)
    if rendered is None:
        images = data.load_patches(source).images
    else:
        size = int(rendered["count"]) if count is None else count
        images = render.render_eyes(size, seed=int(rendered["seed"])).images
    return data.unpad(data.crop_and_pad(images))


@dataclasses.dataclass(frozen=True)
class Neighbors:
    """The closest reference images to a query, nearest first.

    ``indices`` is int64 (k,) into the reference set; ``distances`` is float64
    (k,), the RMS pixel distance of each (0 to 255), ascending.
    """

    indices: np.ndarray
    distances: np.ndarray


def nearest_neighbors(image, reference, k=NEIGHBOR_COUNT):
    """Find the ``k`` reference images closest to ``image`` in RMS pixel distance.

    ``image`` is (height, width) and ``reference`` (n, height, width), both in
    pixel values [0, 255]. The distance is the one
    :func:`eyegan.metrics.nearest_neighbor_distances` uses, computed from the
    pixel differences themselves, so an image in the reference set is at
    distance exactly 0. Equal distances keep reference order. Returns
    :class:`Neighbors` with min(k, n) entries. Raises ValueError for mismatched
    sizes, pixels outside [0, 255] or k < 1.
    """
    query = metrics.as_pixels(np.asarray(image)[np.newaxis])[0]
    reference = np.asarray(reference)
    if reference.ndim != 3 or reference.shape[1:] != query.shape:
        raise ValueError(f"reference has shape {reference.shape}, expected (n, {query.shape[0]}, "
                         f"{query.shape[1]}) to match the image")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k!r}")

    squared = np.empty(len(reference))
    for start in range(0, len(reference), _NEIGHBOR_CHUNK):
        chunk = reference[start:start + _NEIGHBOR_CHUNK].astype(np.float64)
        if chunk.min() < 0 or chunk.max() > 255:
            raise ValueError(f"reference pixels span [{chunk.min():.3g}, {chunk.max():.3g}], expected "
                             "[0, 255]; turn model output into pixels with eyegan.data.denormalize")
        differences = chunk - query
        squared[start:start + len(chunk)] = np.einsum("nij,nij->n", differences, differences)

    order = np.argsort(squared, kind="stable")[:k]
    return Neighbors(order.astype(np.int64), np.sqrt(squared[order] / query.size))


def render_eye(yaw=0.0, pitch=0.0, eyelid_opening=1.0, pupil_size=DEFAULT_PUPIL_SIZE, seed=0):
    """Render one eye patch with the given labels: uint8 (35, 55).

    Angles are in degrees. The ranges and the meaning of each label are those
    of :func:`eyegan.render.render_eyes`, which raises ValueError outside them.
    ``seed`` fixes everything else (skin, iris, lighting, head pose), so moving
    one control changes only that label.
    """
    eyes = render.render_eyes(1, seed, yaw=yaw, pitch=pitch, eyelid_opening=eyelid_opening,
                              pupil_size=pupil_size)
    return eyes.images[0]


# ---------------------------------------------------------------------------------
# Pictures: matplotlib figures rendered to PNG bytes
# ---------------------------------------------------------------------------------


def _new_figure(figsize):
    # A bare Figure, not pyplot: the notebook's inline backend would display a
    # pyplot figure a second time below the widget.
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=WIDGET_DPI)


def figure_png(figure):
    """Render a matplotlib figure to PNG bytes at WIDGET_DPI, keeping its exact size."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=WIDGET_DPI)
    return buffer.getvalue()


def _show_pixels(ax, pixels, title=None):
    ax.imshow(pixels, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)


def explorer_png(pixels, seed, offsets):
    """Draw one generated eye (32, 64) with its seed and direction offsets as the title."""
    figure = _new_figure(EXPLORER_FIGSIZE)
    ax = figure.add_axes((0.03, 0.03, 0.94, 0.76))
    moves = ", ".join(f"{offset:+.2f}" for offset in offsets)
    _show_pixels(ax, pixels)
    figure.suptitle(f"Generated eye, seed {seed}\noffsets along directions 1-{len(offsets)}: {moves}",
                    fontsize=9)
    return figure_png(figure)


def interpolation_png(strip, current, t, method, seeds):
    """Draw the interpolation strip (frames, 32, 64) above the eye at ``t`` (32, 64)."""
    figure = _new_figure(INTERPOLATION_FIGSIZE)
    strip_ax = figure.add_axes((0.02, 0.62, 0.96, 0.24))
    grid = plotting.image_grid(np.rint(strip).astype(np.uint8), columns=len(strip))
    _show_pixels(strip_ax, grid)
    # Mark the position of t along the strip: the frames' centres span t = 0 to 1.
    tile = grid.shape[1] / len(strip)
    strip_ax.axvline(tile / 2 + t * (grid.shape[1] - tile), color="tab:red", linewidth=1.5)
    current_ax = figure.add_axes((0.3, 0.03, 0.4, 0.48))
    _show_pixels(current_ax, current, f"t = {t:.2f}")
    figure.suptitle(f"{method.capitalize()} interpolation from seed {seeds[0]} to seed {seeds[1]}",
                    fontsize=10)
    return figure_png(figure)


def epoch_png(grid, epoch, last_epoch, values):
    """Draw a fixed-noise grid (uint8 picture) with the epoch's history values beside it."""
    figure = _new_figure(EPOCH_FIGSIZE)
    ax = figure.add_axes((0.02, 0.04, 0.62, 0.80))
    _show_pixels(ax, grid)
    stage = "untrained" if epoch == 0 else f"after epoch {epoch} of {last_epoch}"
    figure.suptitle(f"Fixed-noise samples, {stage}", fontsize=10)
    if values:
        lines = [f"{name:<12}{value:8.3f}" for name, value in values.items() if name != "seconds"]
    else:
        lines = ["no history before", "the first epoch"]
    figure.text(0.67, 0.8, "\n".join(lines), family="monospace", fontsize=9, va="top")
    return figure_png(figure)


def neighbors_png(query, patches, neighbors, seed):
    """Draw a generated eye's content (32, 55) and its nearest training patches."""
    count = len(neighbors.indices) + 1
    figure = _new_figure((NEIGHBOR_PANEL_WIDTH * count, NEIGHBOR_FIGURE_HEIGHT))
    axes = figure.subplots(1, count)
    _show_pixels(axes[0], query, f"generated\nseed {seed}")
    for ax, index, distance in zip(axes[1:], neighbors.indices, neighbors.distances):
        _show_pixels(ax, patches[index], f"patch {index}\nRMS {distance:.1f}")
    figure.suptitle("Nearest training patches (RMS pixel distance, 32x55 content)", fontsize=10)
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.62, wspace=0.08)
    return figure_png(figure)


def renderer_png(pixels, yaw, pitch, eyelid_opening, pupil_size, seed):
    """Draw a rendered patch (35, 55) with its labels as the title."""
    figure = _new_figure(RENDERER_FIGSIZE)
    ax = figure.add_axes((0.03, 0.03, 0.94, 0.72))
    _show_pixels(ax, pixels)
    figure.suptitle(f"Rendered eye, seed {seed}\nyaw {yaw:+.0f}°, pitch {pitch:+.0f}°, "
                    f"eyelid {eyelid_opening:.2f}, pupil {pupil_size:.2f}", fontsize=9)
    return figure_png(figure)


# ---------------------------------------------------------------------------------
# Widgets
# ---------------------------------------------------------------------------------


class LiveView:
    """A widget that displays together with a PNG of its default state.

    ``widget`` is the ipywidgets box, ``png`` the PNG bytes of the picture it
    shows when built, ``controls`` the named input widgets (for scripts and
    tests) and ``image`` the ipywidgets Image that every change redraws.
    Displaying a LiveView sends one output with the widget view, the PNG and a
    text line, and each frontend shows the richest one it can render.
    """

    def __init__(self, widget, image, controls, description):
        self.widget = widget
        self.image = image
        self.controls = controls
        # ipywidgets stores the value as a memoryview, so keep a bytes copy.
        self.png = bytes(image.value)
        self.description = description

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget._repr_mimebundle_())
        # Notebook files store PNG outputs as base64 text.
        bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        bundle["text/plain"] = f"{self.description} (live in Jupyter and Colab)"
        return bundle


def _live_view(controls, draw, description, extra=()):
    """Wire ``controls`` to an Image that shows ``draw()``; return a LiveView.

    ``draw`` reads the controls' current values and returns PNG bytes. Every
    control with a value redraws the image when it changes. ``extra`` widgets
    (buttons, a player) go below the controls.
    """
    import ipywidgets

    image = ipywidgets.Image(value=draw(), format="png")

    def redraw(_change):
        image.value = draw()

    for control in controls.values():
        if hasattr(control, "value"):
            control.observe(redraw, names="value")
    panel = ipywidgets.VBox([*controls.values(), *extra])
    box = ipywidgets.HBox([panel, image])
    return LiveView(box, image, controls, description)


def _seed_control(value, description="seed"):
    import ipywidgets

    return ipywidgets.BoundedIntText(value=value, min=0, max=MAX_SEED, description=description)


def _new_sample_button(seed_control, rng):
    """Return a "new sample" button that sets ``seed_control`` to a random seed."""
    import ipywidgets

    def draw_new_seed(_button):
        seed_control.value = int(rng.integers(0, MAX_SEED))

    button = ipywidgets.Button(description="new sample")
    button.on_click(draw_new_seed)
    return button


def latent_explorer(generator, directions, seed=0, count=DIRECTION_COUNT):
    """Build the latent explorer: one generated eye, moved along the leading directions.

    The eye is the generator's image of z = noise(seed) + sum_k a_k d_k, where
    d_k are the first ``count`` rows of ``directions.vectors`` (a
    :class:`LatentDirections`) and a_k the slider values (0 by default, range
    +-DIRECTION_RANGE). The controls are the seed, one slider per direction, and
    a "new sample" button that draws a random seed. Returns a :class:`LiveView`
    whose ``controls`` are "seed" and "direction_1" onwards.
    """
    import ipywidgets

    latent_dim = generator.input_shape[-1]
    vectors = directions.vectors[:count]
    controls = {"seed": _seed_control(seed)}
    for number, change in enumerate(directions.pixel_change[:count], start=1):
        controls[f"direction_{number}"] = ipywidgets.FloatSlider(
            value=0.0, min=-DIRECTION_RANGE, max=DIRECTION_RANGE, step=DIRECTION_SLIDER_STEP,
            description=f"direction {number}", continuous_update=False,
            tooltip=f"{change:.2f} RMS pixels per unit")
    sliders = [controls[f"direction_{k}"] for k in range(1, len(vectors) + 1)]

    def draw():
        offsets = np.array([slider.value for slider in sliders])
        latent = latent_for_seed(controls["seed"].value, latent_dim) + offsets @ vectors
        return explorer_png(generate(generator, latent)[0], controls["seed"].value, offsets)

    button = _new_sample_button(controls["seed"], np.random.default_rng(seed))
    return _live_view(controls, draw, "Latent explorer", extra=[button])


def interpolation_explorer(generator, start_seed=0, end_seed=1, frames=INTERPOLATION_FRAMES):
    """Build the interpolation view between the noise vectors of two seeds.

    Shows ``frames`` images evenly spaced from t = 0 to 1 and, larger, the
    image at the slider's t (0.5 by default). Controls: "start_seed",
    "end_seed", "t" and "method" (spherical by default, or linear). Returns a
    :class:`LiveView`.
    """
    import ipywidgets

    latent_dim = generator.input_shape[-1]
    controls = {
        "start_seed": _seed_control(start_seed, "start seed"),
        "end_seed": _seed_control(end_seed, "end seed"),
        "t": ipywidgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="t",
                                    continuous_update=False),
        "method": ipywidgets.ToggleButtons(options=INTERPOLATION_METHODS, value="spherical",
                                           description="path"),
    }

    def draw():
        start = latent_for_seed(controls["start_seed"].value, latent_dim)
        end = latent_for_seed(controls["end_seed"].value, latent_dim)
        t, method = controls["t"].value, controls["method"].value
        strip = interpolate(generator, start, end, np.linspace(0.0, 1.0, frames), method)
        current = interpolate(generator, start, end, t, method)[0]
        seeds = (controls["start_seed"].value, controls["end_seed"].value)
        return interpolation_png(strip, current, t, method, seeds)

    return _live_view(controls, draw, "Interpolation explorer")


def epoch_scrubber(grids, history):
    """Build the epoch scrubber over a run's fixed-noise grids.

    ``grids`` maps epochs to uint8 pictures (0 = untrained), as
    :func:`eyegan.pretrained.load_epoch_grids` returns; ``history`` is the run's
    history. The "epoch" slider starts at the last epoch; a player steps through
    the epochs in Jupyter. Returns a :class:`LiveView`.
    """
    import ipywidgets

    epochs = sorted(grids)
    controls = {"epoch": ipywidgets.SelectionSlider(options=epochs, value=epochs[-1], description="epoch",
                                                    continuous_update=True)}
    player = ipywidgets.Play(min=0, max=len(epochs) - 1, value=len(epochs) - 1, interval=500,
                             description="play")
    ipywidgets.jslink((player, "value"), (controls["epoch"], "index"))

    def draw():
        epoch = controls["epoch"].value
        return epoch_png(grids[epoch], epoch, epochs[-1], epoch_metrics(history, epoch))

    return _live_view(controls, draw, "Epoch scrubber", extra=[player])


def neighbor_explorer(generator, patches, seed=0, k=NEIGHBOR_COUNT):
    """Build the memorization check: a generated eye and its ``k`` nearest training patches.

    ``patches`` is the training set's content, (n, 32, 55) in [0, 255], as
    :func:`training_patches` returns. The generated eye is compared on its
    32x55 content. Controls: "seed" and a "new sample" button. Returns a
    :class:`LiveView`.
    """
    latent_dim = generator.input_shape[-1]
    controls = {"seed": _seed_control(seed)}

    def draw():
        query = data.unpad(generate(generator, latent_for_seed(controls["seed"].value, latent_dim))[0])
        neighbors = nearest_neighbors(query, patches, k)
        return neighbors_png(query, patches, neighbors, controls["seed"].value)

    button = _new_sample_button(controls["seed"], np.random.default_rng(seed))
    return _live_view(controls, draw, "Nearest training patches", extra=[button])


def renderer_explorer(seed=0):
    """Build the renderer's controls: one rendered eye, redrawn as its labels change.

    Controls: "yaw" and "pitch" (degrees), "eyelid_opening", "pupil_size" and
    "seed", over the ranges :func:`eyegan.render.render_eyes` accepts. The
    default eye looks into the camera with the lids fully open. Returns a
    :class:`LiveView`.
    """
    import ipywidgets

    def slider(description, value, bounds, step):
        return ipywidgets.FloatSlider(value=value, min=bounds[0], max=bounds[1], step=step,
                                      description=description, continuous_update=False)

    controls = {
        "yaw": slider("yaw (°)", 0.0, render.YAW_RANGE_DEG, 1.0),
        "pitch": slider("pitch (°)", 0.0, render.PITCH_RANGE_DEG, 1.0),
        "eyelid_opening": slider("eyelid", 1.0, render.EYELID_OPENING_RANGE, 0.05),
        "pupil_size": slider("pupil", DEFAULT_PUPIL_SIZE, render.PUPIL_SIZE_RANGE, 0.05),
        "seed": _seed_control(seed),
    }

    def draw():
        values = {name: control.value for name, control in controls.items()}
        return renderer_png(render_eye(**values), **values)

    return _live_view(controls, draw, "Renderer controls")

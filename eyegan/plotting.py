"""Image grids, GIFs and training curves.

Writers go through a temporary file in the destination folder and rename it into
place, so an interrupted run never leaves a half-written PNG, GIF or CSV behind.
"""

import contextlib
import math
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from eyegan import data

# Pixels of background between the tiles of a grid. Black, because an
# untrained generator draws mid-grey tiles that a grey gap would hide.
GRID_GAP = 2
GRID_BACKGROUND = 0


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        # mkstemp creates the file readable by its owner only; outputs are for sharing.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def to_uint8(images):
    """Turn normalised images (any shape, float) into displayable uint8 pixels.

    Inverts the reference normalisation and clips to [0, 255]; a trailing
    channel axis of size 1 is dropped.
    """
    pixels = data.denormalize(np.asarray(images, dtype=np.float32), to_uint8=True)
    if pixels.ndim >= 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    return pixels


def image_grid(images, columns=None):
    """Tile uint8 images (n, height, width) into one uint8 picture.

    ``columns`` defaults to the smallest count that makes a square-ish grid;
    empty cells and gaps are black. Raises ValueError for an empty batch.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected a non-empty batch of shape (n, height, width), got {images.shape}")
    count, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full(
        (rows * (height + GRID_GAP) + GRID_GAP, columns * (width + GRID_GAP) + GRID_GAP),
        GRID_BACKGROUND, dtype=np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top = GRID_GAP + row * (height + GRID_GAP)
        left = GRID_GAP + column * (width + GRID_GAP)
        grid[top:top + height, left:left + width] = image
    return grid


def save_png(picture, path, scale=1):
    """Write a uint8 grayscale picture to ``path`` as PNG, enlarged ``scale`` times."""
    image = Image.fromarray(np.asarray(picture, dtype=np.uint8), mode="L")
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    with atomic_path(path) as temporary:
        image.save(temporary, format="PNG")
    return Path(path)


def save_gif(pictures, path, frame_ms=400, scale=1):
    """Write uint8 grayscale pictures of one size to ``path`` as a looping GIF.

    ``frame_ms`` is the time each frame shows, in milliseconds. The last frame
    shows three times as long, so the final state is easy to see.
    """
    frames = [Image.fromarray(np.asarray(p, dtype=np.uint8), mode="L") for p in pictures]
    if not frames:
        raise ValueError(f"no frames to write to {path}")
    if scale != 1:
        frames = [f.resize((f.width * scale, f.height * scale), Image.NEAREST) for f in frames]
    durations = [frame_ms] * (len(frames) - 1) + [3 * frame_ms]
    with atomic_path(path) as temporary:
        frames[0].save(temporary, format="GIF", save_all=True, append_images=frames[1:],
                       duration=durations, loop=0)
    return Path(path)


def show_images(images, columns=None, title=None, ax=None):
    """Draw a grid of uint8 images (n, height, width) on a matplotlib axis and return it."""
    import matplotlib.pyplot as plt

    grid = image_grid(images, columns)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(12, grid.shape[1] / 40), min(12, grid.shape[0] / 40)))
    ax.imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_history(history, ax=None):
    """Plot per-epoch losses and discriminator outputs from a history mapping.

    ``history`` maps metric names to per-epoch lists, as ``keras.callbacks.History``
    or :func:`eyegan.callbacks.read_history` give. Returns the two axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(11, 3.5))
    epochs = np.arange(1, len(history["g_loss"]) + 1)

    for name, label in (("d_loss_real", "discriminator, real batch"),
                        ("d_loss_fake", "discriminator, fake batch"),
                        ("g_loss", "generator")):
        ax[0].plot(epochs, history[name], marker=".", label=label)
    ax[0].set(title="Losses", xlabel="epoch", ylabel="binary cross-entropy")
    ax[0].legend()

    ax[1].plot(epochs, history["d_real"], marker=".", label="on real patches")
    ax[1].plot(epochs, history["d_fake"], marker=".", label="on generated patches")
    ax[1].set(title="Discriminator's mean output", xlabel="epoch", ylabel="D(x)", ylim=(0, 1))
    ax[1].legend()
    return ax


def load_png(path):
    """Read a grayscale PNG into a uint8 array (height, width)."""
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def show_grids_over_epochs(grids, epochs=None, columns=2):
    """Show fixed-noise grids (``{epoch: uint8 picture}``) for chosen epochs in one figure.

    ``epochs`` defaults to up to four epochs spread from the first to the last.
    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    recorded = sorted(grids)
    if epochs is None:
        picks = np.linspace(0, len(recorded) - 1, num=min(4, len(recorded)))
        epochs = sorted({recorded[int(round(i))] for i in picks})
    rows = math.ceil(len(epochs) / columns)
    height, width = grids[epochs[0]].shape
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 5 * rows * height / width + 0.4),
                                squeeze=False)
    for ax, epoch in zip(axes.flat, epochs):
        ax.imshow(grids[epoch], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title("untrained" if epoch == 0 else f"after epoch {epoch}")
    for ax in axes.flat:
        ax.set_axis_off()
    figure.tight_layout()
    return figure


def gif_html(path, width=600):
    """Return an IPython HTML object that embeds the GIF at ``path`` inline.

    Embedding the bytes keeps the animation in a built book page and in a
    notebook opened elsewhere; ``width`` is in CSS pixels.
    """
    import base64

    from IPython.display import HTML

    encoded = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return HTML(f'<img src="data:image/gif;base64,{encoded}" width="{width}" '
                f'alt="fixed-noise samples, one frame per epoch">')


def plot_seed_spread(rows, metric="swd", ax=None, title=None, lower_is_better=True):
    """Plot every run's ``metric`` per setting, one dot per seed, with the mean as a bar.

    ``rows`` are result rows as :func:`eyegan.experiments.read_results` returns
    them. Settings keep their first-seen order. Returns the axis.
    """
    import matplotlib.pyplot as plt

    values = {}
    for row in rows:
        values.setdefault(row["setting"], []).append(float(row[metric]))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.5, 1.6 * len(values)), 3.4))
    for position, (setting, numbers) in enumerate(values.items()):
        # A small fixed horizontal offset per seed keeps equal values visible.
        offsets = np.linspace(-0.08, 0.08, len(numbers)) if len(numbers) > 1 else [0.0]
        ax.scatter(position + np.asarray(offsets), numbers, color="tab:blue", zorder=3,
                   label="one seed" if position == 0 else None)
        ax.hlines(np.mean(numbers), position - 0.25, position + 0.25, color="black",
                  label="mean" if position == 0 else None)
    ax.set_xticks(range(len(values)), list(values), rotation=15, ha="right")
    direction = "lower is better" if lower_is_better else "higher is better"
    ax.set(xlabel="setting", ylabel=f"{metric} ({direction})", title=title or metric)
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.legend(loc="best", fontsize="small")
    return ax


def show_setting_grids(folder, labels, seed=0, columns=2):
    """Show the saved sample grid of each setting for one seed, side by side.

    ``folder`` is an experiment's results folder; grids are read from
    ``samples/<label>-seed<seed>.png`` as the experiment runner writes them.
    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    from eyegan.experiments import sample_grid_path

    rows = math.ceil(len(labels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 2.6 * rows), squeeze=False)
    for ax, label in zip(axes.flat, labels):
        ax.imshow(load_png(sample_grid_path(folder, label, seed)), cmap="gray", vmin=0, vmax=255,
                  interpolation="nearest")
        ax.set_title(f"{label} (seed {seed})")
    for ax in axes.flat:
        ax.set_axis_off()
    figure.tight_layout()
    return figure


def plot_experiment(rows, title):
    """Plot an experiment's SWD and diversity per setting, every seed and the mean.

    Returns the matplotlib figure with two panels.
    """
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    plot_seed_spread(rows, "swd", ax=axes[0], title="Sliced Wasserstein distance")
    plot_seed_spread(rows, "diversity", ax=axes[1], title="Diversity (real eyes = 1)", lower_is_better=False)
    figure.suptitle(title)
    figure.tight_layout()
    return figure

"""Procedural eye patches: the built-in data that lets the book build without downloads.

``render_eyes`` draws 35x55 uint8 grayscale patches of a human eye in the layout of the
Kaggle eye-gaze file ``gaze.h5``, whose patches were made with the UnityEyes renderer.
Each patch has skin with shading and texture, an almond eye opening between two lid
curves, a lid crease and a dark lash line along the upper lid. Inside the opening are
the sclera, a pupil, a corneal glint and an iris with a darker limbus ring and radial
texture, placed by the gaze and cut by the lids. A lighting gradient, small head roll
and scale jitter, blur and sensor noise follow. Last, each patch is histogram-equalised,
as the real patches are, so a batch has a pixel mean of about 127.5 and a standard
deviation of about 74 (the real gaze.h5 patches: 129.4 and 73.7).

Drawing happens in an eye frame measured in pixels of an unscaled, unrolled patch:
``u`` points to the image's right and ``v`` points down, with the eye centre at 0.

Gaze convention (the ``look_vec`` label): x points to the image's right, y points up
in the image, and z points from the eye towards the camera. An eye that looks straight
into the camera has ``look_vec == (0, 0, 1)``. Yaw turns the gaze about the y axis
(positive yaw looks to the image's right) and pitch raises it (positive pitch looks up):
``look_vec = (sin(yaw) cos(pitch), sin(pitch), cos(yaw) cos(pitch))``.

NOTE: this convention is this module's own. The signs of UnityEyes' camera-space
``look_vec`` in the real ``gaze.h5`` were not checked against it.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from dataclasses import dataclass

import h5py
import numpy as np

from eyegan.data import PATCH_SHAPE

# Valid label ranges for render_eyes. The iris is drawn as a flat ellipse that slides
# over the eyeball, which looks plausible only for moderate turns, so yaw and pitch
# stop at 45 degrees.
YAW_RANGE_DEG = (-45.0, 45.0)
PITCH_RANGE_DEG = (-45.0, 45.0)
EYELID_OPENING_RANGE = (0.0, 1.0)
# Adult pupils are about 2 to 8 mm across and irises about 12 mm, a ratio of 0.17 to 0.67.
PUPIL_SIZE_RANGE = (0.1, 0.8)

# Default label ranges, each sampled uniformly. They keep most of the iris inside the
# eye opening, as in the real patches, and skip nearly closed eyes, which are rare there.
DEFAULT_YAW_DEG = (-30.0, 30.0)
DEFAULT_PITCH_DEG = (-20.0, 20.0)
DEFAULT_EYELID_OPENING = (0.55, 1.0)
DEFAULT_PUPIL_SIZE = (0.25, 0.6)

# Eye geometry in pixels of an unscaled patch, chosen so that the eye spans about
# 46 of the 55 columns and the iris about half of the 35 rows, as in the real patches.
EYE_HALF_WIDTH_PX = 23.0
UPPER_LID_HEIGHT_PX = 9.5  # Upper lid apex above the eye centre, eye fully open.
LOWER_LID_HEIGHT_PX = 7.5  # Lower lid low point below the eye centre.
IRIS_RADIUS_PX = 9.0
# The iris plane sits about 10 mm in front of the eye's centre of rotation and the iris
# radius is about 6 mm, so a gaze turn moves the iris centre 1.7 iris radii times sin(angle).
IRIS_ROTATION_RADIUS_PX = 1.7 * IRIS_RADIUS_PX
# The cornea's centre of curvature lies about halfway between the centre of rotation and
# the iris, so the glint moves about half as far as the iris when the gaze turns.
GLINT_GAZE_FOLLOW = 0.55
GLINT_SIGMA_PX = 0.8
# Glint peak added to the eyeball's intensity. A specular highlight outshines diffuse
# white skin, so the peak exceeds 1 and usually stays the brightest spot after blurring.
GLINT_PEAK = (1.2, 1.8)
# The upper lid rides up and down with the gaze, the lower lid much less.
UPPER_LID_GAZE_FOLLOW = 0.5
LOWER_LID_GAZE_FOLLOW = 0.2
LID_CREASE_GAP_PX = (2.5, 5.0)  # Crease height above the open upper lid, sampled per patch.
LASH_LINE_WIDTH_PX = 0.8
LID_EDGE_SOFTNESS_PX = 1.0  # Width of the anti-aliased edge of the eye opening.

# Pose jitter: the real patches are cropped around the eye from faces with some roll.
HEAD_ROLL_MAX_DEG = 8.0
SCALE_JITTER = 0.08  # Relative change of eye size, sampled in [1 - x, 1 + x].
CENTRE_JITTER_PX = 1.5

# Appearance, in linear intensity where 0 is black and 1 is white. Equalisation later
# keeps only the order of the pixel values, so what matters is which part is darker
# than which: pupil < iris < lash line < skin in the socket < sclera and lit skin.
# A range (low, high) is sampled uniformly per patch; the values were tuned by eye
# against the real patches.
SKIN_TONE = (0.5, 0.7)
SKIN_TEXTURE = (0.01, 0.04)  # Amplitude of the blotchy skin noise.
SKIN_TEXTURE_CELLS = (6, 9)  # Rows and columns of the coarse grid behind the blotches.
PORE_SHARE = 0.25  # Per-pixel noise relative to the blotches. More looks like grain.
SOCKET_DEPTH = (0.15, 0.35)  # Darkening of the skin around the eye at its centre.
SOCKET_MARGIN_PX = (6.0, 5.0)  # How far the socket shadow reaches beyond the corners and lid.
BROW_HIGHLIGHT = 0.15  # Extra light on the brow bone, reached 12 px above the lid apex.
CHEEK_HIGHLIGHT = 0.15  # Extra light on the cheek, reached 13 px below the lower lid.
SCLERA_TONE = (0.6, 0.8)
SCLERA_CORNER_SHADING = 0.4  # Darkening at the corners, where the eyeball curves away.
LID_SHADOW = 0.2  # Darkening of the eyeball right under the upper lid.
LID_SHADOW_DECAY_PX = 1.5
IRIS_TONE = (0.12, 0.4)
IRIS_TEXTURE = (0.03, 0.08)  # Amplitude of the radial streaks.
# Streaks per turn of the three radial waves, coprime so that the pattern does not repeat.
IRIS_STREAK_FREQUENCIES = (7.0, 13.0, 23.0)
LIMBUS_DARKENING = 0.6  # Iris darkening at the limbus ring.
LIMBUS_POSITION = 0.95  # Ring centre, as a fraction of the iris radius.
LIMBUS_WIDTH = 0.15  # Ring half width, as a fraction of the iris radius.
PUPIL_TONE = 0.03
CREASE_DEPTH = (0.15, 0.45)  # Darkening along the lid crease.
CREASE_WIDTH_PX = 0.9
LASH_DARKNESS = (0.55, 0.85)  # Darkening along the upper lid edge.
LASH_OUTER_THICKENING = 0.5  # Extra lash-line width at the outer corner, relative.
LOWER_LASH_SHARE = 0.35  # Darkness of the lower lid edge relative to the upper one.
LOWER_LASH_WIDTH_PX = 0.8
LID_SKEW = (0.05, 0.25)  # Relative extra height of the upper lid arch towards the outer corner.
# Glint offset from the cornea centre in iris radii. The light comes from above and to
# one side, so the glint sits in the upper half of the cornea.
GLINT_OFFSET_X = (-0.4, 0.4)
GLINT_OFFSET_Y = (-0.5, -0.1)

# Image formation.
BLUR_SIGMA_PX = 0.6  # Each patch is blurred with this sigma once or twice (mixed).
SENSOR_NOISE_STD = 0.008
LIGHT_GRADIENT_MAX = 0.35  # Maximum relative brightness change from the patch centre to an edge.

# Patches rendered per step. The peak working memory is about 20 float32 images per
# patch (measured with tracemalloc), so a chunk needs about 160 MB.
RENDER_CHUNK = 1024


@dataclass(frozen=True)
class RenderedEyes:
    """A batch of rendered eye patches and the labels that drew them.

    Attributes:
        images: (n, 35, 55) uint8 grayscale patches, histogram-equalised.
        look_vec: (n, 3) float32 unit gaze vectors in the convention of this module's
            docstring (x right, y up, z towards the camera).
        yaw: (n,) float32 degrees, positive when the eye looks to the image's right.
        pitch: (n,) float32 degrees, positive when the eye looks up.
        eyelid_opening: (n,) float32 in [0, 1], 0 for a closed eye and 1 for fully open.
        pupil_size: (n,) float32 pupil radius as a fraction of the iris radius.
    """

    images: np.ndarray
    look_vec: np.ndarray
    yaw: np.ndarray
    pitch: np.ndarray
    eyelid_opening: np.ndarray
    pupil_size: np.ndarray

    def __len__(self) -> int:
        return int(self.images.shape[0])


def render_eyes(
    n: int,
    seed: int = 0,
    *,
    yaw=None,
    pitch=None,
    eyelid_opening=None,
    pupil_size=None,
) -> RenderedEyes:
    """Render ``n`` eye patches and return them with their labels.

    Each label keyword may be None, which samples it uniformly from its default range
    (``DEFAULT_YAW_DEG`` and so on), a scalar for all patches, or a sequence of ``n``
    values. Yaw and pitch are in degrees within ``YAW_RANGE_DEG`` and
    ``PITCH_RANGE_DEG``, eyelid opening is within [0, 1] and pupil size (pupil radius
    over iris radius) within ``PUPIL_SIZE_RANGE``. Fixing a label does not change the
    random draws of anything else, so the same seed with another yaw draws the same
    eyes looking elsewhere.

    ``seed`` goes to ``numpy.random.default_rng``. The same ``n``, ``seed`` and labels
    return byte-identical images, but the first k patches of a larger batch are not
    the same as a batch of k.

    Raises:
        ValueError: if ``n`` is not a whole number of at least 1, if a label is not
            finite or lies outside its range, or if a label array does not have n values.
    """
    n = _validate_count(n)
    rng = np.random.default_rng(seed)

    labels = {
        "yaw": _label_values("yaw", yaw, n, rng, DEFAULT_YAW_DEG, YAW_RANGE_DEG, " degrees"),
        "pitch": _label_values(
            "pitch", pitch, n, rng, DEFAULT_PITCH_DEG, PITCH_RANGE_DEG, " degrees"
        ),
        "eyelid_opening": _label_values(
            "eyelid_opening", eyelid_opening, n, rng, DEFAULT_EYELID_OPENING, EYELID_OPENING_RANGE
        ),
        "pupil_size": _label_values(
            "pupil_size", pupil_size, n, rng, DEFAULT_PUPIL_SIZE, PUPIL_SIZE_RANGE
        ),
    }
    look_vec = _look_vectors(labels["yaw"], labels["pitch"])
    scene = _sample_scene(rng, n)

    images = np.empty((n, *PATCH_SHAPE), dtype=np.uint8)
    for start in range(0, n, RENDER_CHUNK):
        rows = slice(start, min(start + RENDER_CHUNK, n))
        chunk_scene = {key: value[rows] for key, value in scene.items()}
        chunk_labels = {key: value[rows] for key, value in labels.items()}
        images[rows] = _render_chunk(rng, look_vec[rows], chunk_labels, chunk_scene)

    return RenderedEyes(
        images=images,
        look_vec=look_vec.astype(np.float32),
        **{key: value.astype(np.float32) for key, value in labels.items()},
    )


def write_gaze_h5(path, n: int, seed: int = 0) -> pathlib.Path:
    """Render ``n`` patches with ``render_eyes(n, seed)`` and write them as a gaze.h5 file.

    The file has three groups whose datasets share the names "0", "1", ... "n-1":
    ``image`` with one (35, 55) uint8 patch each, ``look_vec`` with one float32 (3,)
    unit gaze vector each, and ``path`` with one variable-length UTF-8 string each,
    such as "rendered/000123.png" (h5py reads it back as bytes). The file is written
    under a temporary name in the same folder and renamed to ``path`` when complete,
    so ``path`` never contains a half-written file. An existing file at ``path`` is replaced.

    Returns:
        ``path`` as a ``pathlib.Path``.

    Raises:
        ValueError: if ``n`` is not a whole number of at least 1.
        FileNotFoundError: if the folder of ``path`` does not exist.
    """
    path = pathlib.Path(path)
    n = _validate_count(n)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"folder {str(path.parent)!r} for the gaze file does not exist. Create it first."
        )

    eyes = render_eyes(n, seed)

    handle, temporary_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    os.close(handle)
    try:
        # mkstemp makes the file readable by its owner only, which is unusual for data.
        os.chmod(temporary_name, 0o644)
        _write_gaze_groups(temporary_name, eyes)
        os.replace(temporary_name, path)
    except BaseException:
        os.unlink(temporary_name)
        raise
    return path


def _write_gaze_groups(filename: str, eyes: RenderedEyes) -> None:
    with h5py.File(filename, "w") as gaze_file:
        image_group = gaze_file.create_group("image")
        look_vec_group = gaze_file.create_group("look_vec")
        path_group = gaze_file.create_group("path")
        for index in range(len(eyes)):
            name = str(index)
            image_group.create_dataset(name, data=eyes.images[index])
            look_vec_group.create_dataset(name, data=eyes.look_vec[index])
            path_group.create_dataset(name, data=f"rendered/{index:06d}.png")


# Input checks and sampling.


def _validate_count(n) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number of at least 1; got {n!r}")
    return int(n)


def _label_values(name, value, n, rng, default_range, valid_range, unit="") -> np.ndarray:
    # Draw the default even when the caller fixes the label, so that fixing one label
    # leaves every later random draw, and so the rest of each eye, unchanged.
    sampled = rng.uniform(*default_range, size=n)
    if value is None:
        return sampled

    values = np.asarray(value, dtype=np.float64)
    if values.ndim == 0:
        values = np.full(n, float(values))
    if values.shape != (n,):
        raise ValueError(
            f"{name} must be a scalar or an array of n={n} values; got shape {values.shape}"
        )

    low, high = valid_range
    outside = ~((values >= low) & (values <= high))  # Also true for NaN.
    if outside.any():
        bad = values[outside][0]
        raise ValueError(f"{name} must be within [{low:g}, {high:g}]{unit}; got {bad:g}")
    return values


def _look_vectors(yaw_deg: np.ndarray, pitch_deg: np.ndarray) -> np.ndarray:
    yaw = np.radians(yaw_deg)
    pitch = np.radians(pitch_deg)
    return np.stack(
        [np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)], axis=1
    )


def _sample_scene(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Draw the per-patch nuisance parameters: pose, skin, iris and lighting."""
    def uniform(low_high, size=n):
        return rng.uniform(*low_high, size=size)

    return {
        "roll": np.radians(uniform((-HEAD_ROLL_MAX_DEG, HEAD_ROLL_MAX_DEG))),
        "scale": uniform((1 - SCALE_JITTER, 1 + SCALE_JITTER)),
        "shift_x": uniform((-CENTRE_JITTER_PX, CENTRE_JITTER_PX)),
        "shift_y": uniform((-CENTRE_JITTER_PX, CENTRE_JITTER_PX)),
        # +1 or -1: mirrors the lid asymmetry between left and right eyes.
        "side": rng.choice([-1.0, 1.0], size=n),
        "lid_skew": uniform(LID_SKEW),
        "crease_gap": uniform(LID_CREASE_GAP_PX),
        "crease_depth": uniform(CREASE_DEPTH),
        "lash_darkness": uniform(LASH_DARKNESS),
        "socket_depth": uniform(SOCKET_DEPTH),
        "skin_tone": uniform(SKIN_TONE),
        "skin_texture": uniform(SKIN_TEXTURE),
        "sclera_tone": uniform(SCLERA_TONE),
        "iris_tone": uniform(IRIS_TONE),
        "iris_texture": uniform(IRIS_TEXTURE),
        "iris_phase": uniform((0, 2 * np.pi), (n, len(IRIS_STREAK_FREQUENCIES))),
        "glint_x": uniform(GLINT_OFFSET_X) * IRIS_RADIUS_PX,
        "glint_y": uniform(GLINT_OFFSET_Y) * IRIS_RADIUS_PX,
        "glint_strength": uniform(GLINT_PEAK),
        "light_angle": uniform((0, 2 * np.pi)),
        "light_strength": uniform((0, LIGHT_GRADIENT_MAX)),
        "second_blur": uniform((0, 1)),  # Weight of the second blur pass.
    }


# Drawing. Every helper works on float32 arrays of shape (n, 35, 55), and per-patch
# parameters arrive as (n, 1, 1) so that they broadcast over the pixels.


def _render_chunk(rng, look_vec, labels, scene) -> np.ndarray:
    n = look_vec.shape[0]
    params = {key: _per_patch(value) for key, value in scene.items() if value.ndim == 1}
    params.update({key: _per_patch(value) for key, value in labels.items()})
    gaze_x = _per_patch(look_vec[:, 0])
    gaze_y = _per_patch(look_vec[:, 1])

    u, v = _eye_frame(params)
    lids = _lid_curves(u, gaze_y, params)
    opening = _aperture_mask(v, lids)

    skin = _draw_skin(rng, n, u, v, params)
    skin = _draw_lid_crease(skin, u, v, params)

    eyeball = _draw_sclera(u, v, lids, params)
    iris_u = IRIS_ROTATION_RADIUS_PX * gaze_x
    iris_v = -IRIS_ROTATION_RADIUS_PX * gaze_y
    eyeball = _draw_iris(eyeball, u - iris_u, v - iris_v, gaze_x, gaze_y, scene, params)
    cornea_u = GLINT_GAZE_FOLLOW * iris_u
    cornea_v = GLINT_GAZE_FOLLOW * iris_v
    eyeball = _draw_glint(eyeball, u - cornea_u, v - cornea_v, params)

    image = skin * (1 - opening) + eyeball * opening
    image = _draw_lash_lines(image, v, lids, params)

    image = _apply_light_gradient(image, params)
    image = _blur(image, params)
    image += SENSOR_NOISE_STD * rng.standard_normal(image.shape, dtype=np.float32)
    return _equalise_histograms(image)


def _per_patch(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float32)[:, None, None]


def _eye_frame(params) -> tuple[np.ndarray, np.ndarray]:
    """Map pixel centres into the eye frame, undoing the patch's roll, scale and shift."""
    rows, columns = PATCH_SHAPE
    dy = np.arange(rows, dtype=np.float32)[:, None] - ((rows - 1) / 2 + params["shift_y"])
    dx = np.arange(columns, dtype=np.float32)[None, :] - ((columns - 1) / 2 + params["shift_x"])
    cos_roll = np.cos(params["roll"])
    sin_roll = np.sin(params["roll"])
    u = (cos_roll * dx + sin_roll * dy) / params["scale"]
    v = (cos_roll * dy - sin_roll * dx) / params["scale"]
    return u, v


def _lid_curves(u, gaze_y, params) -> dict[str, np.ndarray]:
    """Return the upper and lower lid edges (``v`` of each column) and lid helpers.

    Both lids are parabolas in ``u`` that meet at the eye corners. The upper lid is
    lowered towards the lower one as the opening shrinks, and it follows the gaze up
    and down. ``lateral`` is ``u`` over the half width, signed so that positive is the
    outer corner, which carries the taller lid arch and the thicker lashes.
    """
    across = np.clip(u / EYE_HALF_WIDTH_PX, -1, 1)
    bulge = 1 - across * across  # 1 at the eye centre, 0 at the corners.
    lateral = across * params["side"]
    iris_drop = -IRIS_ROTATION_RADIUS_PX * gaze_y  # Pixels the iris moves down.

    lower = (LOWER_LID_HEIGHT_PX + LOWER_LID_GAZE_FOLLOW * iris_drop) * bulge
    arch = (LOWER_LID_HEIGHT_PX + UPPER_LID_HEIGHT_PX) * np.sqrt(bulge * np.sqrt(bulge))
    arch = arch * (1 + params["lid_skew"] * lateral)
    upper = lower - params["eyelid_opening"] * (arch - UPPER_LID_GAZE_FOLLOW * iris_drop * bulge)
    return {"upper": upper, "lower": lower, "bulge": bulge, "lateral": lateral}


def _aperture_mask(v, lids) -> np.ndarray:
    """Return the visible part of the eyeball, 0 to 1 with anti-aliased edges."""
    below_upper = _coverage((v - lids["upper"]) / LID_EDGE_SOFTNESS_PX)
    above_lower = _coverage((lids["lower"] - v) / LID_EDGE_SOFTNESS_PX)
    return below_upper * above_lower


def _coverage(signed_distance) -> np.ndarray:
    # A pixel whose centre lies on an edge is half covered: a one-pixel linear ramp.
    return np.clip(signed_distance + 0.5, 0, 1)


def _draw_skin(rng, n, u, v, params) -> np.ndarray:
    """Draw skin: a tone, a socket shadow around the eye, a lit brow and blotchy texture."""
    skin = np.broadcast_to(params["skin_tone"], u.shape).astype(np.float32)

    margin_u, margin_v = SOCKET_MARGIN_PX
    socket_u = u / (EYE_HALF_WIDTH_PX + margin_u)
    socket_v = v / (UPPER_LID_HEIGHT_PX + margin_v)
    socket = socket_u * socket_u + socket_v * socket_v
    skin = skin * (1 - params["socket_depth"] * np.exp(-2 * socket))

    # The brow bone above the crease and the cheek below the eye catch more light. Each
    # highlight ramps in over 6 or 8 px, starting 6 px above the lid apex or 5 px below
    # the lower lid.
    brow = np.clip(-(v + UPPER_LID_HEIGHT_PX + 6) / 6, 0, 1)
    cheek = np.clip((v - LOWER_LID_HEIGHT_PX - 5) / 8, 0, 1)
    skin = skin + BROW_HIGHLIGHT * brow + CHEEK_HIGHLIGHT * cheek

    blotches = _smooth_noise(rng, n, SKIN_TEXTURE_CELLS)
    pores = rng.standard_normal(u.shape, dtype=np.float32)
    return skin + params["skin_texture"] * (blotches + PORE_SHARE * pores)


def _draw_lid_crease(skin, u, v, params) -> np.ndarray:
    """Darken a thin curve above the open upper lid, fading out towards the corners."""
    across = np.clip(u / (EYE_HALF_WIDTH_PX + 2), -1, 1)  # The crease runs 2 px past the corners.
    bulge = 1 - across * across
    crease = -(UPPER_LID_HEIGHT_PX + params["crease_gap"]) * np.sqrt(bulge)
    line = np.exp(-(((v - crease) / CREASE_WIDTH_PX) ** 2)) * bulge
    return skin * (1 - params["crease_depth"] * line)


def _draw_sclera(u, v, lids, params) -> np.ndarray:
    """Draw the white of the eye, darker towards the corners and under the upper lid."""
    across = u / EYE_HALF_WIDTH_PX
    sclera = params["sclera_tone"] * (1 - SCLERA_CORNER_SHADING * across * across)
    lid_shadow = np.exp(-np.maximum(v - lids["upper"], 0) / LID_SHADOW_DECAY_PX)
    return sclera * (1 - LID_SHADOW * lid_shadow)


def _draw_iris(eyeball, du, dv, gaze_x, gaze_y, scene, params) -> np.ndarray:
    """Paint the iris and pupil over the eyeball.

    ``du`` and ``dv`` are offsets from the iris centre. The iris is a circle seen at an
    angle, so it shrinks along the direction of the gaze turn. The iris darkens to a
    limbus ring at its rim and carries radial streaks, and the pupil is near black.
    """
    radius_u = IRIS_RADIUS_PX * np.sqrt(1 - gaze_x * gaze_x)
    radius_v = IRIS_RADIUS_PX * np.sqrt(1 - gaze_y * gaze_y)
    rho = np.sqrt((du / radius_u) ** 2 + (dv / radius_v) ** 2)  # 1 on the limbus.
    angle = np.arctan2(dv, du)

    streaks = np.zeros_like(rho)
    for index, frequency in enumerate(IRIS_STREAK_FREQUENCIES):
        phase = _per_patch(scene["iris_phase"][:, index])
        streaks += np.cos(frequency * angle + phase)
    limbus = np.exp(-(((rho - LIMBUS_POSITION) / LIMBUS_WIDTH) ** 2))
    iris = params["iris_tone"] * (1 - LIMBUS_DARKENING * limbus)
    iris = iris + params["iris_texture"] * streaks * rho  # Streaks fade towards the pupil.

    pupil = _coverage((params["pupil_size"] - rho) * IRIS_RADIUS_PX)
    iris = iris * (1 - pupil) + PUPIL_TONE * pupil

    inside = _coverage((1 - rho) * IRIS_RADIUS_PX)
    return eyeball * (1 - inside) + iris * inside


def _draw_glint(eyeball, du, dv, params) -> np.ndarray:
    """Add the corneal reflection of the light, a small Gaussian spot near the pupil."""
    dx = du - params["glint_x"]
    dy = dv - params["glint_y"]
    spot = params["glint_strength"] * np.exp(-(dx * dx + dy * dy) / (2 * GLINT_SIGMA_PX**2))
    return eyeball + spot


def _draw_lash_lines(image, v, lids, params) -> np.ndarray:
    """Darken the upper lid edge (lashes, thicker outwards) and, faintly, the lower one."""
    taper = np.clip(4 * lids["bulge"], 0, 1)  # Fades over the outer 13% of each half width.
    upper_width = LASH_LINE_WIDTH_PX * (1 + LASH_OUTER_THICKENING * lids["lateral"])
    # The lashes grow from the lid margin, centred 0.3 px above the opening's edge.
    upper = np.exp(-(((v - lids["upper"] + 0.3) / upper_width) ** 2))
    lower = np.exp(-(((v - lids["lower"]) / LOWER_LASH_WIDTH_PX) ** 2))
    darkening = params["lash_darkness"] * (upper + LOWER_LASH_SHARE * lower) * taper
    return image * (1 - np.clip(darkening, 0, 1))


def _apply_light_gradient(image, params) -> np.ndarray:
    rows, columns = PATCH_SHAPE
    y = (np.arange(rows, dtype=np.float32)[:, None] - (rows - 1) / 2) / ((rows - 1) / 2)
    x = (np.arange(columns, dtype=np.float32)[None, :] - (columns - 1) / 2) / ((columns - 1) / 2)
    ramp = np.cos(params["light_angle"]) * x + np.sin(params["light_angle"]) * y
    return image * (1 + params["light_strength"] * ramp)


def _blur(image, params) -> np.ndarray:
    """Blur with a Gaussian of BLUR_SIGMA_PX, then mix in a second pass per patch."""
    once = _blur_separable(image, BLUR_SIGMA_PX)
    twice = _blur_separable(once, BLUR_SIGMA_PX)
    return once + params["second_blur"] * (twice - once)


def _blur_separable(image, sigma) -> np.ndarray:
    rows, columns = PATCH_SHAPE
    return _gaussian_matrix(rows, sigma) @ image @ _gaussian_matrix(columns, sigma).T


def _smooth_noise(rng, n, cells) -> np.ndarray:
    """Return (n, 35, 55) noise with unit variance on a coarse grid, bilinearly upsampled."""
    rows, columns = PATCH_SHAPE
    coarse = rng.standard_normal((n, *cells), dtype=np.float32)
    upsample_rows = _linear_resize_matrix(rows, cells[0])
    upsample_columns = _linear_resize_matrix(columns, cells[1])
    return upsample_rows @ coarse @ upsample_columns.T


def _gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    # Row i contains the Gaussian weights of pixel i's neighbours, renormalised at the
    # borders so that a flat image stays flat. The kernel is cut at 4 sigma because the
    # tiny weights beyond it would be subnormal floats, which make BLAS many times slower.
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights[np.abs(offsets) > 4 * sigma] = 0
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def _linear_resize_matrix(size_out: int, size_in: int) -> np.ndarray:
    positions = np.linspace(0, size_in - 1, size_out)
    weights = np.maximum(0, 1 - np.abs(positions[:, None] - np.arange(size_in)[None, :]))
    return weights.astype(np.float32)


def _equalise_histograms(image) -> np.ndarray:
    """Map each patch's pixels to 0..255 by rank, giving each patch a flat histogram.

    NOTE: numpy's default sort is several times faster than a stable one here but
    orders equal values in a way that may differ between numpy builds. Equal values
    are very rare because every pixel carries sensor noise.
    """
    n = image.shape[0]
    flat = image.reshape(n, -1)
    count = flat.shape[1]
    order = np.argsort(flat, axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(count), order.shape), axis=1)
    levels = (ranks * 256) // count
    return levels.astype(np.uint8).reshape(image.shape)

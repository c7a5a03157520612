"""Video features: one HOG descriptor per (small, grey) frame, pooled over time per clip."""

from __future__ import annotations

import cv2
import numpy as np

from musicfusion.features import check_pooling, pool, pooled_names


def shortest_seconds(params: dict, fps: float) -> float:
    """The shortest clip the HOG features describe: one frame, whatever its duration (0 s).

    HOG describes each frame alone and pooling over one frame is defined (std 0); preprocessing
    keeps at least one frame of any video whose container lists one (the frame at the start of
    the kept window, :func:`musicfusion.data.preprocess.load_video`), however short, so no
    duration is too short. A video with no frame is refused as unreadable, not as short. The
    video controls need no more.
    """
    return 0.0


def check_geometry(height: int, width: int, hog: dict) -> None:
    """Raise ValueError unless blocks tile the frame exactly and cells tile each block."""
    cell, block, stride = hog["cell_size"], hog["block_size"], hog["block_stride"]
    settings = f"cell_size={cell}, block_size={block}, block_stride={stride}"
    frame = f"frame {width}x{height} (width x height)"
    if min(cell, block, stride, hog["nbins"]) < 1:
        raise ValueError(f"HOG sizes must be positive: {settings}, nbins={hog['nbins']}")
    if block > width or block > height:
        raise ValueError(f"HOG block_size={block} does not fit in the {frame}")
    if (width - block) % stride or (height - block) % stride:
        raise ValueError(f"HOG blocks do not tile the {frame}: (width - block_size) and "
                         f"(height - block_size) must be multiples of block_stride; {settings}")
    if block % cell:
        raise ValueError(f"HOG block_size must be a multiple of cell_size ({frame}); {settings}")


def descriptor(height: int, width: int, hog: dict) -> cv2.HOGDescriptor:
    """A HOG whose window is the whole frame, so each frame gives one fixed-length vector."""
    check_geometry(height, width, hog)
    block, stride, cell = hog["block_size"], hog["block_stride"], hog["cell_size"]
    return cv2.HOGDescriptor((width, height), (block, block), (stride, stride), (cell, cell), hog["nbins"])


def feature_names(height: int, width: int, hog: dict) -> list[str]:
    """Names in OpenCV's descriptor order: blocks column by column (x outer, y inner), then the
    block's cells in the same order, then the orientation bins, e.g. 'hog_bx06_by00_cx1_cy0_bin4'."""
    stride, cells_per_side = hog["block_stride"], hog["block_size"] // hog["cell_size"]
    blocks_x = (width - hog["block_size"]) // stride + 1
    blocks_y = (height - hog["block_size"]) // stride + 1
    return [f"hog_bx{bx:02d}_by{by:02d}_cx{cx}_cy{cy}_bin{k}"
            for bx in range(blocks_x) for by in range(blocks_y)
            for cx in range(cells_per_side) for cy in range(cells_per_side)
            for k in range(hog["nbins"])]


def extract(frames, params: dict) -> tuple[np.ndarray, list[str]]:
    """HOG features of each clip, pooled over its frames (as many as the clip has).

    ``frames``: each clip's uint8 ``(n_frames, height, width)`` grey frames, already resized (HOG
    over full-size frames gives millions of values a frame): a sequence of clips of any lengths,
    or a ``(n_clips, n_frames, height, width)`` array. ``params``: the ``features.video``
    section (hog: cell_size, block_size, block_stride, nbins; pooling).
    Returns float32 ``(n_clips, d)`` and the ``d`` names.
    """
    check_pooling(params["pooling"])
    if isinstance(frames, np.ndarray) and frames.ndim == 4 and len(frames) == 0:  # no clip, frame size known
        height, width = frames.shape[2:]
        names = pooled_names(feature_names(height, width, params["hog"]), params["pooling"])
        return np.zeros((0, len(names)), dtype=np.float32), names
    frames = [np.asarray(clip) for clip in frames]
    if not frames:
        raise ValueError("no clip to extract, and no frame size to name the features by")
    shapes = {clip.shape[1:] for clip in frames}
    bad = [clip for clip in frames if clip.ndim != 3 or clip.dtype != np.uint8 or clip.shape[0] == 0]
    if bad or len(shapes) != 1:
        clip = bad[0] if bad else frames[0]
        raise ValueError(f"each clip's frames must be uint8 (n_frames >= 1, height, width) of one frame size, "
                         f"got {clip.dtype} {clip.shape} (frame sizes {sorted(shapes)})")
    height, width = frames[0].shape[1:]
    hog = descriptor(height, width, params["hog"])
    names = pooled_names(feature_names(height, width, params["hog"]), params["pooling"])
    X = np.zeros((len(frames), len(names)), dtype=np.float32)
    for i, clip in enumerate(frames):
        X[i] = pool(np.stack([hog.compute(frame) for frame in clip]), params["pooling"])
    return X, names

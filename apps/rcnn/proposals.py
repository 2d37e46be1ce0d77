"""Region proposals: selective search (OpenCV contrib) or sliding windows, parallel and cached.

R-CNN (Girshick et al. 2014, section 2.1) takes about 2,000 category-independent
proposals per image from selective search (Uijlings et al. 2013, "Selective search for
object recognition", IJCV) in its "fast mode". This module runs OpenCV contrib's
implementation, ``cv2.ximgproc.segmentation.createSelectiveSearchSegmentation``, in its
fast (``switchToSelectiveSearchFast``) or quality (``switchToSelectiveSearchQuality``)
mode, on the image down-scaled so that its longer side is at most ``max_side`` pixels
(the paper resized images to 500 pixels wide); the boxes are mapped back to the image's
own coordinates. Sliding windows over several scales and aspect ratios are the simple
alternative the paper compares against (section 2.1, "a simple sliding window").

`compute_proposals` processes many images in parallel (a process pool; the work
is OpenCV-bound) with a progress bar, and caches each result on disk under a key made of
the image file's content hash and the settings, so ``train``, ``detect`` and ``evaluate``
never compute the same proposals twice.

This module imports neither Keras nor TensorFlow (worker processes start fast).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
from collections.abc import Sequence

import numpy as np

__all__ = [
    "ProposalConfig",
    "selective_search",
    "sliding_windows",
    "propose",
    "proposals_for_file",
    "proposals_for_image",
    "compute_proposals",
    "cache_key",
    "METHODS",
]

METHODS = ("fast", "quality", "sliding")


@dataclasses.dataclass(frozen=True)
class ProposalConfig:
    """Proposal settings (all part of the cache key).

    Attributes:
        method: ``"fast"`` / ``"quality"`` selective search, or ``"sliding"`` windows.
        max_proposals: keep at most this many boxes (selective search's ranking order).
        max_side: images are down-scaled to this longer side before proposing.
        min_size: drop boxes narrower or lower than this (pixels, at ``max_side`` scale).
        window_scales: sliding windows: window sides as fractions of the shorter image side.
        window_aspects: sliding windows: width/height ratios.
        window_stride: sliding windows: step as a fraction of the window side.
    """

    method: str = "fast"
    max_proposals: int = 2000
    max_side: int = 500
    min_size: int = 12
    window_scales: tuple[float, ...] = (0.2, 0.3, 0.45, 0.65, 0.9)
    window_aspects: tuple[float, ...] = (0.5, 1.0, 2.0)
    window_stride: float = 0.25

    def validate(self) -> "ProposalConfig":
        """Check every field; return self. Raises ValueError naming the field."""
        if self.method not in METHODS:
            raise ValueError(
                f"`method` must be one of {', '.join(repr(m) for m in METHODS)}. Received: method={self.method!r}"
            )
        for name in ("max_proposals", "max_side", "min_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1. Received: {name}={value!r}")
        if not self.window_scales or any(not 0 < s <= 1 for s in self.window_scales):
            raise ValueError(f"`window_scales` must be fractions in (0, 1]. Received: window_scales={self.window_scales!r}")
        if not self.window_aspects or any(a <= 0 for a in self.window_aspects):
            raise ValueError(f"`window_aspects` must be positive ratios. Received: window_aspects={self.window_aspects!r}")
        if not 0 < self.window_stride <= 1:
            raise ValueError(f"`window_stride` must be in (0, 1]. Received: window_stride={self.window_stride!r}")
        return self

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


def _dedupe(boxes: np.ndarray) -> np.ndarray:
    keys = np.round(boxes).astype(np.int64)
    _, index = np.unique(keys, axis=0, return_index=True)
    return boxes[np.sort(index)]


def _diversification(bgr: np.ndarray, mode: str):
    """The colour images, graph-segmentation ``k`` values and strategy makers of OpenCV's
    ``switchToSelectiveSearchFast`` / ``switchToSelectiveSearchQuality`` (defaults: base k 150,
    increment 150, sigma 0.8), as opencv_contrib's ``selectivesearchsegmentation.cpp`` sets them."""
    import cv2

    seg = cv2.ximgproc.segmentation
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    images = [hsv, cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab)]
    full = lambda: seg.createSelectiveSearchSegmentationStrategyMultiple(  # noqa: E731
        seg.createSelectiveSearchSegmentationStrategyColor(), seg.createSelectiveSearchSegmentationStrategyFill(),
        seg.createSelectiveSearchSegmentationStrategyTexture(), seg.createSelectiveSearchSegmentationStrategySize())
    shape = lambda: seg.createSelectiveSearchSegmentationStrategyMultiple(  # noqa: E731
        seg.createSelectiveSearchSegmentationStrategyFill(), seg.createSelectiveSearchSegmentationStrategyTexture(),
        seg.createSelectiveSearchSegmentationStrategySize())
    if mode == "fast":
        return images, (150, 300, 450), (full, shape)
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    # The fourth image is meant to be the hue channel, but OpenCV's ``split(base_image, channel)``
    # right after adding it writes the blue channel into the same buffer: it is the blue channel.
    images += [grey, np.ascontiguousarray(bgr[..., 0]), cv2.merge([bgr[..., 2], bgr[..., 1], grey])]
    return images, (150, 300, 450, 600, 750), (full, shape, seg.createSelectiveSearchSegmentationStrategyFill,
                                               seg.createSelectiveSearchSegmentationStrategySize)


def _seed_c_rand() -> None:
    """``srand(0)`` of the C library: OpenCV ranks selective-search boxes by C ``rand()`` times
    their merge level, and ``rand()``'s state is the process's, so without this an image's box
    order depended on what the process (a proposal worker) had computed before it, and so did
    the fine-tuning batches drawn from the boxes by index (session 6: the same seed gave raccoon
    AP 0.690 with one proposal cache and 0.359 with a fresh one). Seeded, one image always gets
    one order. Where the C library cannot be loaded the order stays OpenCV's unseeded one."""
    global _C_LIBRARY
    if _C_LIBRARY is None:
        import ctypes
        import ctypes.util

        try:
            _C_LIBRARY = ctypes.CDLL(ctypes.util.find_library("c") or None)
            _C_LIBRARY.srand.argtypes = [ctypes.c_uint]
        except (OSError, AttributeError):
            _C_LIBRARY = False
    if _C_LIBRARY:
        _C_LIBRARY.srand(0)


_C_LIBRARY = None


def _search_part(image: np.ndarray, k: int, strategies) -> np.ndarray:
    """Selective search over one colour image and one graph segmentation (every strategy)."""
    import cv2

    seg = cv2.ximgproc.segmentation
    ss = seg.createSelectiveSearchSegmentation()
    ss.addImage(image)
    ss.addGraphSegmentation(seg.createGraphSegmentation(0.8, float(k)))
    for make in strategies:
        ss.addStrategy(make())
    return np.asarray(ss.process(), dtype=np.int64).reshape(-1, 4)


def selective_search(image: np.ndarray, *, mode: str = "fast", threads: int = 1) -> np.ndarray:
    """Selective search boxes of one RGB image with OpenCV contrib.

    With ``threads`` > 1 the search is split into its independent parts (one per colour image
    and graph segmentation: 6 in fast mode, 25 in quality mode), run in that many threads
    (OpenCV releases the GIL). Each part is OpenCV's own grouping, so the boxes are exactly
    the set that one OpenCV call gives (tested); only their order differs. OpenCV's rank is C
    ``rand()`` times the merge level; with one thread ``rand()`` is seeded first, so an image
    always gets the same order (the proposals R-CNN trains on); the threads share ``rand()``,
    so their order is not fixed: the parts' ranked lists are interleaved, the first boxes
    still the early, small-scale ones. `detect` uses threads: its boxes are ranked by score.

    Args:
        image: ``(h, w, 3)`` uint8 RGB image (already at the working scale).
        mode: ``"fast"`` or ``"quality"`` (Uijlings et al.'s two diversification sets).
        threads: threads for this call (1: one OpenCV call).

    Returns:
        ``(n, 4)`` float32 xyxy boxes, each once.
    """
    import cv2

    if not hasattr(cv2, "ximgproc"):
        raise ImportError(
            "Selective search needs OpenCV's contrib modules: pip install opencv-contrib-python-headless "
            "(and uninstall opencv-python, which shadows it), or use --method sliding."
        )
    if mode not in ("fast", "quality"):
        raise ValueError(f"`mode` must be 'fast' or 'quality'. Received: mode={mode!r}")
    bgr = np.ascontiguousarray(image[..., ::-1])
    if threads <= 1:
        cv2.setNumThreads(1)
        ss = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
        ss.setBaseImage(bgr)
        ss.switchToSelectiveSearchFast() if mode == "fast" else ss.switchToSelectiveSearchQuality()
        _seed_c_rand()
        rects = np.asarray(ss.process(), dtype=np.int64).reshape(-1, 4)
    else:
        images, ks, strategies = _diversification(bgr, mode)
        jobs = [(img, k) for img in images for k in ks]
        with concurrent.futures.ThreadPoolExecutor(max_workers=int(threads)) as pool:
            parts = list(pool.map(lambda job: _search_part(job[0], job[1], strategies), jobs))
        rank = np.concatenate([np.arange(len(p)) for p in parts])  # round robin: position within its part
        order = np.argsort(rank, kind="stable")
        rects = _dedupe(np.concatenate(parts)[order])
    rects = rects.astype(np.float32)
    rects[:, 2] += rects[:, 0]
    rects[:, 3] += rects[:, 1]
    return rects


def sliding_windows(
    height: int,
    width: int,
    *,
    scales: Sequence[float] = (0.2, 0.3, 0.45, 0.65, 0.9),
    aspects: Sequence[float] = (0.5, 1.0, 2.0),
    stride: float = 0.25,
) -> np.ndarray:
    """Sliding-window boxes over an image: every scale x aspect, stepped by ``stride`` of the window.

    Args:
        height, width: the image size.
        scales: window areas' square-root sides as fractions of the shorter image side.
        aspects: width / height ratios.
        stride: the step, as a fraction of the window's width (height) horizontally (vertically).

    Returns:
        ``(n, 4)`` float32 xyxy boxes inside the image, largest scale first.

    Example:
        >>> sliding_windows(100, 100, scales=(0.5,), aspects=(1.0,), stride=0.5).shape
        (9, 4)
    """
    out = []
    short = min(height, width)
    for s in sorted(scales, reverse=True):
        for a in aspects:
            side = s * short
            w, h = min(side * np.sqrt(a), width), min(side / np.sqrt(a), height)
            xs = _positions(width, w, stride * w)
            ys = _positions(height, h, stride * h)
            gx, gy = np.meshgrid(xs, ys)
            gx, gy = gx.ravel(), gy.ravel()
            out.append(np.stack([gx, gy, gx + w, gy + h], axis=1))
    return np.concatenate(out).astype(np.float32)


def _positions(extent: float, window: float, step: float) -> np.ndarray:
    if window >= extent:
        return np.array([0.0])
    n = int(np.floor((extent - window) / max(step, 1.0))) + 1
    pos = np.arange(n) * step
    if pos[-1] + window < extent - 1:  # make the last window touch the border
        pos = np.append(pos, extent - window)
    return pos


def propose(image: np.ndarray, config: ProposalConfig, *, threads: int = 1) -> np.ndarray:
    """Proposals of one RGB image already at the working scale (see `proposals_for_file`);
    ``threads`` as `selective_search`."""
    h, w = image.shape[:2]
    if config.method == "sliding":
        boxes = sliding_windows(h, w, scales=config.window_scales, aspects=config.window_aspects, stride=config.window_stride)
    else:
        boxes = selective_search(image, mode=config.method, threads=threads)
    keep = ((boxes[:, 2] - boxes[:, 0]) >= config.min_size) & ((boxes[:, 3] - boxes[:, 1]) >= config.min_size)
    boxes = _dedupe(boxes[keep])
    return boxes[: config.max_proposals]


def _content_hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(path: str, config: ProposalConfig) -> str:
    """The cache key of an image file's proposals: sha256 of its bytes and the settings."""
    digest = hashlib.sha256((_content_hash(path) + config.to_json()).encode())
    return digest.hexdigest()[:32]


def proposals_for_file(path: str, config: ProposalConfig, cache_dir: str | None = None) -> np.ndarray:
    """Proposals of an image file in its original pixel coordinates, from the cache when present.

    The image is read, down-scaled to ``config.max_side``, proposed on, and the boxes are
    scaled back. With ``cache_dir`` the result is stored as ``<cache_dir>/<key>.npy``
    (written to a temporary file and renamed, so a killed run leaves no half file).
    """
    return proposals_for_image(path, None, None, config, cache_dir)


def proposals_for_image(
    path: str,
    image: np.ndarray | None,
    scale: float | None,
    config: ProposalConfig,
    cache_dir: str | None = None,
    *,
    threads: int = 1,
) -> np.ndarray:
    """`proposals_for_file` for an image the caller has already read.

    Args:
        path: the image file (its bytes key the cache).
        image, scale: the file read by ``apps.rcnn.regions.load_image(path, config.max_side)``
            (None: it is read here only when the cache has no entry).
        config, cache_dir: as `proposals_for_file`.
        threads: selective-search threads (`selective_search`).
    """
    from apps.rcnn.regions import load_image

    target = None
    if cache_dir is not None:
        target = os.path.join(cache_dir, cache_key(path, config) + ".npy")
        if os.path.isfile(target):
            try:
                return np.load(target)
            except (OSError, ValueError):
                pass  # a corrupt cache entry is recomputed and overwritten
    if image is None:
        image, scale = load_image(path, config.max_side)
    boxes = propose(image, config, threads=threads) / np.float32(scale)
    if target is not None:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f"{target}.{os.getpid()}.tmp.npy"
        np.save(tmp, boxes.astype(np.float32))
        os.replace(tmp, target)
    return boxes.astype(np.float32)


def _worker(args):
    path, config, cache_dir = args
    return proposals_for_file(path, config, cache_dir)


def compute_proposals(
    paths: Sequence[str],
    config: ProposalConfig,
    *,
    cache_dir: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    description: str = "proposals",
) -> list[np.ndarray]:
    """Proposals of many image files, in parallel across images, with a progress bar.

    Args:
        paths: image files.
        config: the proposal settings.
        cache_dir: folder of the on-disk cache (None: no cache).
        workers: processes (default: the CPU count; 1 runs in this process).
        progress: show a ``rich`` progress bar.
        description: the progress bar's label.

    Returns:
        One ``(n_i, 4)`` float32 array of xyxy boxes per path (original image coordinates).
    """
    config.validate()
    paths = [os.fspath(p) for p in paths]
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"`workers` must be an integer >= 1. Received: workers={workers!r}")
    results: list[np.ndarray | None] = [None] * len(paths)
    todo = list(range(len(paths)))
    if cache_dir is not None:  # cache hits are read here, without starting processes
        for i in list(todo):
            target = os.path.join(cache_dir, cache_key(paths[i], config) + ".npy")
            if os.path.isfile(target):
                try:
                    results[i] = np.load(target)
                    todo.remove(i)
                except (OSError, ValueError):
                    pass
    bar = _progress(progress, description, len(paths), len(paths) - len(todo))
    try:
        if workers == 1 or len(todo) <= 1:
            for i in todo:
                results[i] = proposals_for_file(paths[i], config, cache_dir)
                bar.advance()
        else:
            ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold TF threads
            with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx) as pool:
                futures = {pool.submit(_worker, (paths[i], config, cache_dir)): i for i in todo}
                for fut in concurrent.futures.as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.advance()
    finally:
        bar.close()
    return results  # type: ignore[return-value]


class _progress:
    """A rich progress bar (or nothing) with ``advance``/``close``."""

    def __init__(self, enabled: bool, description: str, total: int, done: int):
        self._bar = None
        if enabled and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            # On stderr, so that stdout stays machine-readable (the CLI prints JSON there).
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True))  # fmt: skip
            self._bar.start()
            self._task = self._bar.add_task(description, total=total, completed=done)

    def advance(self):
        if self._bar is not None:
            self._bar.advance(self._task)

    def close(self):
        if self._bar is not None:
            self._bar.stop()

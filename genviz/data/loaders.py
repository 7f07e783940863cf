"""Loaders for users' data: MNIST-style IDX (raw or .gz), .npz/.npy arrays, a folder of images.

Every failure becomes a :class:`DataError` naming the file and the problem; nothing here crashes on
a truncated, corrupt or wrong-shaped file.
"""
from __future__ import annotations

import os
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from genviz import safeio
from genviz.data.idx import read_idx
from genviz.data.images import MAX_CLASSES, DataError, ImageDataset

MAX_IMAGE_PIXELS = 25_000_000  # one image file; images are shrunk to 64 px anyway
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".pgm", ".ppm", ".webp"}


def _companion_labels(images_path: Path) -> Path | None:
    name = images_path.name
    for a, b in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1"), ("images", "labels")):
        if a in name:
            candidate = images_path.with_name(name.replace(a, b))
            if candidate.exists():
                return candidate
    return None


def load_idx_dataset(path: Path) -> ImageDataset:
    images = read_idx(path)
    if images.ndim != 3:
        raise DataError(f"{path}: expected an IDX file of images [N, H, W], got shape {images.shape}")
    labels = None
    label_path = _companion_labels(path)
    if label_path is not None:
        labels = read_idx(label_path)
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{label_path}: {labels.shape} labels do not match {len(images)} images")
    return ImageDataset(path.stem.replace(".gz", ""), images, labels, source=str(path))


def load_array_dataset(path: Path) -> ImageDataset:
    try:
        # never unpickle (a data file must not run code); every array's header is checked first
        loaded = safeio.load_npy_or_npz(path, "data file")
    except safeio.InputError as exc:
        raise DataError(str(exc)) from None
    labels = None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = list(loaded.keys())
            img_key = next((k for k in ("images", "x", "X", "data", "x_train", "arr_0") if k in keys), None)
            if img_key is None:
                raise DataError(f"{path}: no image array found; name it 'images' or 'x' (found {keys})")
            try:
                images = loaded[img_key]
                lab_key = next((k for k in ("labels", "y", "Y", "targets", "y_train", "arr_1") if k in keys), None)
                labels = loaded[lab_key] if lab_key else None
            except (ValueError, OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError) as exc:
                raise DataError(f"{path}: corrupt array data ({type(exc).__name__}: {str(exc)[:120]})") from None
    else:
        images = loaded
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"{path}: labels must be integers, one per image "
                            f"(got {labels.dtype} {labels.shape} for {len(images)} images)")
    return ImageDataset(path.stem, images, labels, source=str(path))


def load_image_folder(path: Path, max_images: int = 60000) -> ImageDataset:
    """Images in ``path`` (or in its sub-folders, one class per sub-folder), as greyscale."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - pillow is a dependency
        raise DataError("reading an image folder needs Pillow (pip install pillow)") from None

    def images_in(folder: Path) -> list[Path]:  # regular files only: a pipe named x.png would block
        return [f for f in sorted(folder.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
                and not f.is_fifo()]

    files: list[tuple[Path, int]] = []
    try:
        classes = sorted(p.name for p in path.iterdir() if p.is_dir())[:MAX_CLASSES + 1]
        if len(classes) > MAX_CLASSES:
            raise DataError(f"{path}: more than {MAX_CLASSES} class folders")
        if classes:
            for i, cls in enumerate(classes):
                files += [(f, i) for f in images_in(path / cls)]
        else:
            files = [(f, -1) for f in images_in(path)]
    except OSError as exc:
        raise DataError(f"{path}: cannot list the folder ({exc.strerror or exc})") from None
    if not files:
        raise DataError(f"{path}: no image files found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    files = files[:max_images]
    arrays, labels, size = [], [], None
    for f, label in files:
        try:
            with warnings.catch_warnings():
                # a decompression bomb (a small PNG of gigapixels) is refused from its header
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(f) as im:
                    w, h = im.size
                    if w * h > MAX_IMAGE_PIXELS:
                        raise DataError(f"{f}: an image of {w}x{h} pixels (at most {MAX_IMAGE_PIXELS:,} pixels)")
                    im.draft("L", (64, 64))  # JPEG decodes at a reduced size directly
                    im = im.convert("L")
                    if size is None:
                        w, h = im.size
                        scale = min(1.0, 64 / max(w, h))  # keep the labs' models small
                        size = (max(2, round(w * scale)), max(2, round(h * scale)))
                    if im.size != size:
                        im = im.resize(size, Image.BILINEAR)
                    arrays.append(np.asarray(im, dtype=np.uint8))
                    labels.append(label)
        except DataError:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise DataError(f"{f}: refused as a decompression bomb ({exc})") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
            raise DataError(f"{f}: not a readable image ({type(exc).__name__}: {str(exc)[:120]})") from None
        safeio.check_size(len(arrays) * size[0] * size[1] * 4, path, "the images")  # float32 copies later
    return ImageDataset(path.name, np.stack(arrays), np.array(labels) if classes else None,
                        classes or None, source=str(path))


def load_dataset(ref: str | os.PathLike | None, seed: int = 0) -> ImageDataset:
    """Resolve a data reference: ``digits`` (default), ``shapes``, ``mnist``/``fashion-mnist``
    (from the download cache), or a path to an IDX file, an .npz/.npy file or an image folder."""
    from genviz.data import embedded

    if isinstance(ref, ImageDataset):  # data already in memory (genviz.watch: the user's own arrays)
        return ref
    if ref is None or str(ref) in ("", "digits"):
        return embedded.load_digits()
    if str(ref) == "shapes":
        return embedded.make_shapes(seed=seed)
    if str(ref) in ("mnist", "fashion-mnist"):
        from genviz.data.download import cached_dataset

        return cached_dataset(str(ref))
    path = Path(ref).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder (or use digits, shapes, mnist, fashion-mnist)")
    if not path.is_dir():
        try:
            safeio.regular_file(path, "data file")
        except safeio.InputError as exc:
            raise DataError(str(exc)) from None
    if path.is_dir():
        idx = sorted(p for p in path.iterdir() if "images-idx3" in p.name)
        if idx:
            return load_idx_dataset(idx[0])
        return load_image_folder(path)
    if path.suffix in (".npz", ".npy"):
        return load_array_dataset(path)
    name = path.name
    if "idx" in name or name.endswith(".gz") or path.suffix == "":
        return load_idx_dataset(path)
    raise DataError(f"{path}: unknown data format; use IDX (.gz), .npz/.npy or a folder of images")

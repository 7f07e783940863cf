"""Download MNIST / Fashion-MNIST once, verify MD5 checksums, cache in the user's data directory."""
from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from genviz.data.idx import read_idx
from genviz.data.images import DataError, ImageDataset

# file -> md5, as published with the datasets (the same values torchvision checks)
DATASETS = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/"],
        "files": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        "label_names": [str(i) for i in range(10)],
    },
    "fashion-mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "files": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83fd310",
        },
        "label_names": ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                        "sneaker", "bag", "boot"],
    },
}


def user_data_dir() -> Path:
    """Where downloads are cached: $GENVIZ_DATA_DIR, else the platform's per-user data folder."""
    if os.environ.get("GENVIZ_DATA_DIR"):
        return Path(os.environ["GENVIZ_DATA_DIR"]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "genviz"


def md5sum(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(name: str, mirrors: list[str] | None = None, files: dict[str, str] | None = None,
             target: Path | None = None, progress: Callable[[str, int, int], None] | None = None,
             timeout: float = 20.0) -> Path:
    """Fetch every file of dataset ``name`` into the cache (skipping verified ones); return the folder.

    Raises :class:`DataError` with a clear message when offline or when a checksum does not match
    (a bad file is deleted, never kept)."""
    if name not in DATASETS and files is None:
        raise DataError(f"unknown dataset '{name}' (known: {', '.join(DATASETS)})")
    spec = DATASETS.get(name, {})
    mirrors = mirrors or spec["mirrors"]
    files = files or spec["files"]
    folder = Path(target) if target else user_data_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    for fname, md5 in files.items():
        dest = folder / fname
        if dest.exists() and md5sum(dest) == md5:
            continue
        errors = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + fname
            tmp = dest.with_suffix(dest.suffix + ".part")
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
                    total = int(resp.headers.get("Content-Length") or 0)
                    done = 0
                    while True:
                        chunk = resp.read(1 << 16)
                        if not chunk:
                            break
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(fname, done, total)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                tmp.unlink(missing_ok=True)
                errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
                continue
            got = md5sum(tmp)
            if got != md5:
                tmp.unlink(missing_ok=True)
                errors.append(f"{url}: checksum mismatch (md5 {got}, expected {md5})")
                continue
            tmp.replace(dest)
            break
        else:
            raise DataError(f"could not download {name} ({fname}); are you offline?\n  " + "\n  ".join(errors))
    return folder


def is_downloaded(name: str) -> bool:
    """Whether ``genviz download NAME`` has put the data set's training files in the cache."""
    folder = user_data_dir() / name
    return (folder / "train-images-idx3-ubyte.gz").is_file() and (folder / "train-labels-idx1-ubyte.gz").is_file()


def cached_dataset(name: str, split: str = "train") -> ImageDataset:
    """Load a downloaded dataset from the cache, or explain how to download it."""
    folder = user_data_dir() / name
    prefix = "train" if split == "train" else "t10k"
    images_path = folder / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = folder / f"{prefix}-labels-idx1-ubyte.gz"
    if not images_path.exists() or not labels_path.exists():
        raise DataError(f"{name} is not downloaded yet: use Data > Download {name} in the app, or "
                        f"`genviz download {name}` (cache: {folder})")
    return ImageDataset(name, read_idx(images_path), read_idx(labels_path),
                        DATASETS.get(name, {}).get("label_names"), source=str(images_path))

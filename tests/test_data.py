"""Loaders: IDX round trips, corrupt and wrong-shaped files give clear DataErrors, the downloader
verifies checksums against a local HTTP server and fails clearly when offline."""
import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from genviz.data import DataError, load_dataset, validate_images
from genviz.data.download import download
from genviz.data.embedded import load_digits, make_shapes
from genviz.data.idx import read_idx, write_idx


@pytest.fixture
def idx_pair(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 7, 7), dtype=np.uint8)
    labels = rng.integers(0, 10, 12, dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    return tmp_path, images, labels


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx3.gz" if compress else "a.idx3")
    write_idx(path, a, compress=compress)
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if compress else b"\x00\x00")
    np.testing.assert_array_equal(read_idx(path), a)


def test_idx_header_is_big_endian(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros((258, 2, 3), np.uint8), compress=False)
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3]) and raw[4:8] == (258).to_bytes(4, "big")


def test_idx_dataset_finds_its_labels(idx_pair):
    folder, images, labels = idx_pair
    ds = load_dataset(folder / "train-images-idx3-ubyte.gz")
    np.testing.assert_allclose(ds.images, images / 255.0, atol=1e-7)
    np.testing.assert_array_equal(ds.labels, labels)
    assert load_dataset(folder).labels is not None  # a folder holding IDX files works too


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-5], "truncated"),
    (lambda raw: b"\x01\x02" + raw[2:], "bad magic"),
    (lambda raw: raw[:3], "bad magic"),
    (lambda raw: raw[:2] + b"\x44" + raw[3:], "unknown IDX data type"),
])
def test_corrupt_idx_files_are_refused_clearly(tmp_path, damage, message):
    good = tmp_path / "good.idx"
    write_idx(good, np.zeros((4, 5, 5), np.uint8), compress=False)
    bad = tmp_path / "bad-images-idx3-ubyte"
    bad.write_bytes(damage(good.read_bytes()))
    with pytest.raises(DataError, match=message):
        load_dataset(bad)


def test_corrupt_gzip_is_refused(tmp_path):
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + bytes(100))[:-10])  # cut short
    with pytest.raises(DataError, match="corrupt gzip"):
        load_dataset(bad)


def test_mismatched_labels_are_refused(tmp_path):
    write_idx(tmp_path / "x-images-idx3-ubyte", np.zeros((5, 4, 4), np.uint8))
    write_idx(tmp_path / "x-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="do not match"):
        load_dataset(tmp_path / "x-images-idx3-ubyte")


def test_npz_and_npy(tmp_path):
    imgs = np.random.default_rng(0).random((10, 6, 6)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=imgs, y=np.arange(10))
    ds = load_dataset(tmp_path / "d.npz")
    assert ds.images.shape == (10, 6, 6) and list(ds.labels) == list(range(10))
    np.save(tmp_path / "flat.npy", (imgs.reshape(10, 36) * 255).astype(np.uint8))
    assert load_dataset(tmp_path / "flat.npy").images.shape == (10, 6, 6)


@pytest.mark.parametrize("array, message", [
    (np.zeros((10, 7)), "not square"),
    (np.zeros((10, 2, 3, 4, 5)), "expected images"),
    (np.full((4, 3, 3), np.nan), "NaN"),
    (-np.ones((4, 3, 3)), "non-negative"),
    (np.array(["a", "b"]), "numeric"),
])
def test_wrong_arrays_are_refused(tmp_path, array, message):
    with pytest.raises(DataError, match=message):
        validate_images(array)
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(DataError):
        load_dataset(tmp_path / "bad.npy")


def test_pickled_npy_is_not_loaded(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="Python objects and was refused"):
        load_dataset(tmp_path / "obj.npy")


def test_garbage_npz_is_refused(tmp_path):
    (tmp_path / "g.npz").write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(DataError):
        load_dataset(tmp_path / "g.npz")


def test_image_folder_with_classes(tmp_path):
    from PIL import Image

    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(np.full((9, 9), 40 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="broken.png"):
        load_dataset(tmp_path)
    (tmp_path / "dogs" / "broken.png").unlink()
    ds = load_dataset(tmp_path)
    assert ds.images.shape == (6, 9, 9) and ds.label_names == ["cats", "dogs"]
    assert list(ds.labels) == [0, 0, 0, 1, 1, 1]


def test_missing_path_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "nope.npz")
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(DataError, match="unknown data format"):
        load_dataset(tmp_path / "x.csv")


def test_embedded_datasets():
    d = load_digits()
    assert d.images.shape == (1797, 8, 8) and d.images.max() == 1.0 and set(d.labels) == set(range(10))
    s = make_shapes(n=300, seed=1)
    assert s.images.shape == (300, 28, 28) and set(s.factors) == {"shape", "scale", "rotation", "pos_x", "pos_y"}
    # bigger shapes cover more pixels: the known factor is really in the images
    area = s.images.sum((1, 2))
    big, small = s.factors["scale"] > 0.85, s.factors["scale"] < 0.6
    assert area[big].mean() > 1.8 * area[small].mean()
    np.testing.assert_array_equal(make_shapes(n=50, seed=3).images, make_shapes(n=50, seed=3).images)


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_verifies_checksums_and_caches(http_server, tmp_path):
    root, url = http_server
    write_idx(root / "train-images-idx3-ubyte.gz", np.ones((3, 4, 4), np.uint8))
    files = {"train-images-idx3-ubyte.gz": hashlib.md5((root / "train-images-idx3-ubyte.gz").read_bytes()).hexdigest()}
    folder = download("mnist", mirrors=[url], files=files, target=tmp_path / "cache")
    assert read_idx(folder / "train-images-idx3-ubyte.gz").shape == (3, 4, 4)
    (root / "train-images-idx3-ubyte.gz").unlink()  # cached: no second fetch needed
    download("mnist", mirrors=[url], files=files, target=tmp_path / "cache")


def test_download_rejects_a_bad_checksum(http_server, tmp_path):
    root, url = http_server
    (root / "f.gz").write_bytes(b"tampered")
    with pytest.raises(DataError, match="checksum mismatch"):
        download("mnist", mirrors=[url], files={"f.gz": "0" * 32}, target=tmp_path / "cache")
    assert not list((tmp_path / "cache").iterdir())  # nothing bad is kept


def test_download_offline_fails_clearly(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here: like being offline
    with pytest.raises(DataError, match="are you offline"):
        download("mnist", mirrors=[f"http://127.0.0.1:{port}/"], files={"f.gz": "0" * 32},
                 target=tmp_path / "cache", timeout=2)


def test_not_downloaded_dataset_explains_itself():
    with pytest.raises(DataError, match="not downloaded yet"):
        load_dataset("fashion-mnist")

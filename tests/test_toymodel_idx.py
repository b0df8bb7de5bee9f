"""IDX reading: round trips, and a clear error naming the file for each kind of damage."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from toymodel import CorruptDataError, load_split, read_idx, write_idx


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32])
def test_round_trip(tmp_path, compress, dtype):
    array = (np.arange(2 * 3 * 4) - 7).reshape(2, 3, 4).astype(dtype)
    path = tmp_path / "x.idx"
    write_idx(path, array, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    back = read_idx(path, ndim=3)
    assert back.dtype == array.dtype and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def _images(tmp_path, count=5):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((count, 28, 28), np.uint8))
    return path


def _labels(tmp_path, labels):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    write_idx(path, np.asarray(labels, np.uint8))
    return path


def test_load_split_scales_and_flattens(tmp_path):
    images = np.full((3, 28, 28), 255, np.uint8)
    write_idx(tmp_path / "i.gz", images)
    x, y = load_split(tmp_path / "i.gz", _labels(tmp_path, [1, 2, 9]))
    assert x.shape == (3, 784) and x.dtype == np.float32 and np.all(x == 1.0)
    assert y.tolist() == [1, 2, 9] and y.dtype == np.int64


def test_wrong_magic_names_file(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(b"\x12\x34\x08\x01" + bytes(8)))
    with pytest.raises(CorruptDataError, match="bad.gz.*magic"):
        read_idx(path)


def test_truncated_data_names_file(tmp_path):
    path = tmp_path / "short"
    write_idx(path, np.zeros((4, 28, 28), np.uint8), compress=False)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CorruptDataError, match="short: truncated"):
        read_idx(path)


def test_trailing_bytes_are_an_error(tmp_path):
    path = tmp_path / "long"
    write_idx(path, np.zeros(4, np.uint8), compress=False)
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(CorruptDataError, match="trailing"):
        read_idx(path)


def test_truncated_gzip_names_file(tmp_path):
    path = _images(tmp_path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(CorruptDataError, match="train-images-idx3-ubyte.gz.*gzip"):
        read_idx(path)


def test_wrong_number_of_dimensions(tmp_path):
    with pytest.raises(CorruptDataError, match="3 dimensions, expected 1"):
        read_idx(_images(tmp_path), ndim=1)


def test_count_mismatch_names_both_files(tmp_path):
    with pytest.raises(CorruptDataError, match="5 images.*train-labels.*4 labels"):
        load_split(_images(tmp_path, 5), _labels(tmp_path, [0, 1, 2, 3]))


def test_label_out_of_range(tmp_path):
    with pytest.raises(CorruptDataError, match="label 11 outside"):
        load_split(_images(tmp_path, 2), _labels(tmp_path, [0, 11]))


def test_images_must_be_28_by_28(tmp_path):
    write_idx(tmp_path / "i.gz", np.zeros((2, 27, 28), np.uint8))
    with pytest.raises(CorruptDataError, match="28×28"):
        load_split(tmp_path / "i.gz", _labels(tmp_path, [0, 1]))

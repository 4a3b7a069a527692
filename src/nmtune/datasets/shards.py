"""WebDataset tar shards read with random access (standard library ``tarfile``), and a small writer.

Shape convention: N samples. A shard is an uncompressed tar whose members are grouped by *key* (the path up
to the first dot of the file name, the WebDataset convention): ``000123.jpg`` (or ``.png``, ``.webp``, ...)
is the image, ``000123.cls`` its integer label, ``000123.txt`` its caption. Layouts of ``wds:<dir>``:
``<dir>/train/*.tar`` with ``<dir>/val/*.tar`` or ``<dir>/test/*.tar`` as the test split, or ``<dir>/*.tar``
(a training split only). Class names come from ``<dir>/classes.txt`` (one per line) when present, else
``"0"`` .. ``"C-1"``.

Opening a split reads the tar headers and the small ``.cls`` / ``.txt`` members once (no image is decoded);
each image is then read by seeking to its offset in its shard, so a sampler can ask for any sample in any
order: the label noise and caption swaps are applied by sample index, the same on every process and after a
resume. Samples without a label get label 0; samples without an image are an error.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import numpy as np

from nmtune.datasets.generic import _parse
from nmtune.datasets.image_sources import ImageSource, MissingSplitError, _check_mode
from nmtune.datasets.image_transforms import decode_image

__all__ = ["ShardSource", "open_shards", "index_shards", "write_shards", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "ppm", "pgm", "bmp")


def _key_ext(name: str) -> tuple[str, str]:
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), ext.lower() if dot else ""


def index_shards(paths) -> dict:
    """Scan shards: per sample its shard number, image offset and size, label and caption.

    Parameters
    ----------
    paths : sequence of path
        Uncompressed ``.tar`` files, in order.

    Returns
    -------
    dict
        ``shard`` (int32, (N,)), ``offset``, ``size`` (int64, (N,)), ``label`` (int64, (N,); -1 when
        absent), ``caption`` (object, (N,); ``None`` when absent), ``key`` (list of str).
    """
    shard, offset, size, label, caption, keys = [], [], [], [], [], []
    for s, path in enumerate(paths):
        try:
            tf = tarfile.open(path, mode="r:")
        except tarfile.ReadError as exc:
            raise ValueError(
                f"{str(path)!r} is not an uncompressed tar shard ({exc}); re-pack it with `tar cf`."
            ) from exc
        with tf:
            current, sample = None, {}
            for member in tf:
                if not member.isfile():
                    continue
                key, ext = _key_ext(member.name)
                if key != current:
                    if current is not None:
                        _add(sample, current, s, path, shard, offset, size, label, caption, keys)
                    current, sample = key, {}
                if ext in IMAGE_EXTENSIONS:
                    sample["image"] = (member.offset_data, member.size)
                elif ext == "cls":
                    sample["label"] = int(tf.extractfile(member).read().decode().strip())
                elif ext == "txt":
                    sample["caption"] = tf.extractfile(member).read().decode("utf-8").strip()
            if current is not None:
                _add(sample, current, s, path, shard, offset, size, label, caption, keys)
    return {
        "shard": np.asarray(shard, dtype=np.int32),
        "offset": np.asarray(offset, dtype=np.int64),
        "size": np.asarray(size, dtype=np.int64),
        "label": np.asarray(label, dtype=np.int64),
        "caption": np.asarray(caption, dtype=object),
        "key": keys,
    }


def _add(sample, key, s, path, shard, offset, size, label, caption, keys):
    if "image" not in sample:
        raise ValueError(
            f"Sample {key!r} of shard {str(path)!r} has no image member ({', '.join(IMAGE_EXTENSIONS)})."
        )
    shard.append(s)
    offset.append(sample["image"][0])
    size.append(sample["image"][1])
    label.append(sample.get("label", -1))
    caption.append(sample.get("caption"))
    keys.append(key)


class ShardSource(ImageSource):
    """One split of WebDataset shards, readable by sample index (see the module docstring)."""

    def __init__(self, name, split, paths, index, class_names, mode):
        self.name, self.split, self.mode = name, split, _check_mode(mode, name)
        self.paths = [str(p) for p in paths]
        self.shard, self.offset, self.size = index["shard"], index["offset"], index["size"]
        self.labels = np.where(index["label"] < 0, 0, index["label"]).astype(np.int64)
        self.class_names = tuple(class_names)
        has_caption = [c is not None for c in index["caption"]]
        if any(has_caption) and not all(has_caption):
            raise ValueError(
                f"{name}: some samples have a .txt caption and some do not; give every sample one."
            )
        self.captions = np.asarray(index["caption"], dtype=str) if any(has_caption) else None
        self._files: dict[int, object] = {}
        self._pid = None

    def read(self, i: int) -> np.ndarray:
        """Decode sample ``i``'s image (shards stay open per process)."""
        if self._pid != os.getpid():
            self._files, self._pid = {}, os.getpid()
        s = int(self.shard[i])
        fh = self._files.get(s)
        if fh is None:
            fh = self._files[s] = open(self.paths[s], "rb")  # noqa: SIM115 - kept open for the process
        fh.seek(int(self.offset[i]))
        return decode_image(io.BytesIO(fh.read(int(self.size[i]))), self.mode)

    def __getstate__(self):
        return dict(self.__dict__, _files={}, _pid=None)

    def fingerprint(self) -> str:
        """Shard paths, sizes and modification times."""
        stamp = "|".join(f"{p}:{os.stat(p).st_size}:{os.stat(p).st_mtime_ns}" for p in self.paths)
        return f"wds:{self.split}:{self.mode}:{hashlib.sha256(stamp.encode()).hexdigest()[:16]}"


def _split_files(root: Path, split: str) -> list[Path]:
    if (root / "train").is_dir():
        folder = root / "train" if split == "train" else next(
            (root / s for s in ("val", "test") if (root / s).is_dir()), None
        )  # fmt: skip
        if folder is None:
            raise MissingSplitError(f"wds:{root}: no test split ({root / 'val'} or {root / 'test'}).")
    elif split == "train":
        folder = root
    else:
        raise MissingSplitError(f"wds:{root}: shards directly in the folder are a training split only.")
    files = sorted(folder.glob("*.tar"))
    if not files:
        raise FileNotFoundError(f"No .tar shards in {str(folder)!r}.")
    return files


def open_shards(rest: str, split: str) -> ShardSource:
    """Opener of ``wds:<dir>[?mode=L]`` names (see the module docstring)."""
    path, options = _parse(rest, {"mode"})
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"wds:{rest}: {str(root)!r} is not a folder of tar shards.")
    index = index_shards(_split_files(root, split))
    names_file = root / "classes.txt"
    if names_file.is_file():
        class_names = [
            line.strip() for line in names_file.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    else:
        train = index if split == "train" else index_shards(_split_files(root, "train"))
        class_names = [str(k) for k in range(max(1, int(train["label"].max(initial=0)) + 1))]
    if len(index["label"]) and index["label"].max() >= len(class_names):
        raise ValueError(
            f"wds:{rest}: label {int(index['label'].max())} but only {len(class_names)} class names."
        )
    return ShardSource(
        f"wds:{rest}", split, _split_files(root, split), index, class_names, options.get("mode", "RGB")
    )


def write_shards(samples, folder, *, per_shard: int = 1000, prefix: str = "shard") -> list[Path]:
    """Write samples as WebDataset shards ``<folder>/<prefix>-000000.tar``, ... (PNG images).

    Parameters
    ----------
    samples : iterable of dict
        ``{"image": uint8 array (H, W) or (H, W, 3), "label": int (optional), "caption": str (optional)}``.
    folder : path
        Created if needed.
    per_shard : int, default=1000
        Samples per shard.
    prefix : str

    Returns
    -------
    list of pathlib.Path
        The shards written.
    """
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written, tf, n = [], None, 0
    try:
        for n, sample in enumerate(samples):
            if n % per_shard == 0:
                if tf is not None:
                    tf.close()
                written.append(folder / f"{prefix}-{n // per_shard:06d}.tar")
                tf = tarfile.open(written[-1], mode="w")
            key = f"{n:09d}"
            buf = io.BytesIO()
            Image.fromarray(np.asarray(sample["image"], dtype=np.uint8)).save(buf, format="PNG")
            members = [(f"{key}.png", buf.getvalue())]
            if sample.get("label") is not None:
                members.append((f"{key}.cls", str(int(sample["label"])).encode()))
            if sample.get("caption") is not None:
                members.append((f"{key}.txt", str(sample["caption"]).encode("utf-8")))
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    finally:
        if tf is not None:
            tf.close()
    return written

"""Toy image data for the ``images`` study set-up (docs/study-images.md), and two study files that use it.

    PYTHONPATH=src python scripts/make_toy_images.py toy-images

Writes, from the 12 glyph classes of ``glyphs-pretrain:12`` painted in random colours (32 x 32 RGB PNG):

- ``<out>/folder/{train,val}/<class>/<i>.png``: an ImageNet-layout folder (16 + 4 images a class);
- ``<out>/domains/{paint,invert,gray}/<class>/<i>.png``: a domain collection (6 images a class and domain):
  coloured glyphs, the same painting with inverted colours, and grey;
- ``<out>/shards/{train,val}/*.tar`` (+ ``classes.txt``): the folder's images as WebDataset shards of
  (image, label, caption = the class's Unicode name);
- ``<out>/study.yaml`` (supervised pre-training on the folder) and ``<out>/study-contrastive.yaml``
  (image-caption pre-training on the shards): a transformers ResNet-18 at 32 px, gamma 0 and 30 %, one seed,
  downstream the folder task and the domain collection trained on ``paint``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

LAYOUT = {"folder/train": 16, "folder/val": 4, "domains/paint": 6, "domains/invert": 6, "domains/gray": 6}

STUDY = """\
# A toy study on the images of scripts/make_toy_images.py (docs/study-images.md); about 2 minutes on 2 CPU cores.
setup: images
objective: {objective}
gammas: [0.0, 0.3]
seeds: [0]
pretrain: {{dataset: "{dataset}", arch: hf-resnet18, image_size: 32, epochs: 2, batch_size: 32{extra}}}
images:
  workers: 1
  batch_size: 64
  tasks:
    - {{name: glyphs, train: "image-folder:{root}/folder?mode=RGB"}}
    - {{name: painted, domains: "{root}/domains", train: [paint]}}
fractions: [0.5, 1.0]
methods: [lp, mlp, nmtune]
head_epochs: 5
head_min_steps: 20
"""


def make_toy_images(out: Path, seed: int = 0) -> None:
    """Write the folder, the domain collection, the shards and the two study files under ``out``."""
    from PIL import Image

    from nmtune.datasets import load_dataset
    from nmtune.datasets.shards import write_shards

    rng = np.random.default_rng(seed)
    ds = load_dataset("glyphs-pretrain:12", "train")  # grayscale (N, 32, 32) in [0, 1]
    names = list(ds.class_names)
    pairs = {"train": [], "val": []}
    for k, name in enumerate(names):
        rows = iter(np.flatnonzero(ds.labels == k))
        for where, count in LAYOUT.items():
            for _ in range(count):
                i = next(rows)
                ink = ds.inputs[i][..., None]
                fg, bg = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
                image = np.rint(ink * fg + (1 - ink) * bg).astype(np.uint8)  # (32, 32, 3)
                if where == "domains/invert":
                    image = 255 - image
                elif where == "domains/gray":
                    image = np.repeat(image.mean(-1, keepdims=True), 3, -1).astype(np.uint8)
                (out / where / name).mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(out / where / name / f"{i}.png")
                if where.startswith("folder/"):
                    pairs[where.split("/")[1]].append({"image": image, "label": k, "caption": name})
    for split, samples in pairs.items():
        write_shards(samples, out / "shards" / split, per_shard=64)
    (out / "shards" / "classes.txt").write_text("\n".join(names) + "\n")
    root = out.resolve()
    (out / "study.yaml").write_text(
        STUDY.format(
            objective="supervised", dataset=f"image-folder:{root}/folder?mode=RGB", extra="", root=root
        )
    )
    (out / "study-contrastive.yaml").write_text(
        STUDY.format(
            objective="contrastive", dataset=f"wds:{root}/shards", extra=", embed_dim: 64", root=root
        )
    )


def main() -> None:
    """Command line: the output folder."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="output folder (created)")
    args = parser.parse_args()
    make_toy_images(args.out)
    n = sum(1 for _ in args.out.rglob("*.png"))
    print(f"wrote {n} images under {args.out}/ and {args.out}/study.yaml, {args.out}/study-contrastive.yaml")


if __name__ == "__main__":
    main()

"""The architecture registry: names for ``--arch`` and how a checkpoint rebuilds its backbone offline.

Shape convention: a backbone maps images ``(B, channels, H, W)`` to pooled features ``(B, D)`` and exposes
``num_features`` (= D) and ``spec()``, a JSON-able dict from which :func:`backbone_from_spec` rebuilds it
untrained, without network access (a checkpoint stores it under ``"backbone"``).

Names (``list_architectures()``):

- ``small-resnet`` (alias ``resnet``): :class:`nmtune.pretrain.models.SmallResNet` (``width``, ``depth``,
  ``norm``, ``stem_stride``), D = 4 width; the default of the CPU studies.
- ``hf-resnet18`` (basic blocks, D = 512), ``hf-resnet50`` (bottlenecks, D = 2048), ``hf-vit-s16`` (ViT-S/16,
  D = 384): Hugging Face ``transformers`` models built from configuration objects with random weights
  (:mod:`nmtune.pretrain.hf_backbones`).
- ``hf-config:<config.json>``: any ``transformers`` vision model from a configuration file.
- ``timm:<name>``: a ``timm`` model (optional extra ``timm``), ``pretrained=False``, ``num_classes=0``.

A new architecture is one factory ``factory(rest, *, in_channels, image_size, width, depth, norm,
stem_stride) -> nn.Module`` registered here with :func:`register_architecture`; its ``spec()`` names a
``kind`` whose rebuilder is listed in :data:`REBUILDERS`.
"""

from __future__ import annotations

from collections.abc import Callable

from nmtune._internal.registry import Registry, resolve

__all__ = [
    "SMALL_RESNET",
    "ARCHITECTURES",
    "ALIASES",
    "build_backbone",
    "backbone_spec",
    "backbone_from_spec",
    "canonical_arch",
    "list_architectures",
    "check_architecture",
    "register_architecture",
    "legacy_spec",
    "init_classifier",
]

SMALL_RESNET = "small-resnet"
ARCHITECTURES = Registry("architecture")
ALIASES = {"resnet": SMALL_RESNET}  # checkpoints and configs written before the registry say "resnet"

#: ``spec["kind"]`` -> the function rebuilding an untrained backbone from its spec.
REBUILDERS: dict[str, str | Callable] = {
    SMALL_RESNET: "nmtune.pretrain.models:small_resnet_from_spec",
    "hf": "nmtune.pretrain.hf_backbones:backbone_from_hf_spec",
    "timm": "nmtune.pretrain.timm_backbone:backbone_from_timm_spec",
}


def register_architecture(name: str, factory, *, prefix_pattern: str | None = None) -> None:
    """Register a plain name (``factory(None, **fields)``) or, with ``prefix_pattern``, a ``name:<rest>`` family.

    Parameters
    ----------
    name : str
        The name (without ``":"``), e.g. ``"hf-resnet18"`` or the prefix ``"timm"``.
    factory : callable or str
        ``factory(rest, *, in_channels, image_size, width, depth, norm, stem_stride) -> nn.Module`` or a lazy
        ``"module:attr"`` string.
    prefix_pattern : str, optional
        The form shown to users, e.g. ``"timm:<name>"``; makes ``name`` a prefix.
    """
    if prefix_pattern is None:
        ARCHITECTURES.register(name, factory, overwrite=True)
    else:
        ARCHITECTURES.register_prefix(name, factory, prefix_pattern, overwrite=True)


register_architecture(SMALL_RESNET, "nmtune.pretrain.models:build_small_resnet")
for _name in ("hf-resnet18", "hf-resnet50", "hf-vit-s16"):
    register_architecture(_name, f"nmtune.pretrain.hf_backbones:{_name.replace('-', '_')}")
register_architecture(
    "hf-config", "nmtune.pretrain.hf_backbones:build_hf_from_file", prefix_pattern="hf-config:<config.json>"
)
register_architecture("timm", "nmtune.pretrain.timm_backbone:build_timm", prefix_pattern="timm:<name>")


def canonical_arch(name: str) -> str:
    """The registered name of ``name`` (``"resnet"`` -> ``"small-resnet"``; others unchanged)."""
    return ALIASES.get(name, name)


def list_architectures(*, prefixes: bool = True) -> list[str]:
    """Architecture names for ``--arch``: plain names, then (with ``prefixes``) the prefixed forms."""
    return ARCHITECTURES.names() + (ARCHITECTURES.patterns() if prefixes else [])


def check_architecture(name: str) -> str:
    """Return the canonical name of a known architecture, or raise a did-you-mean ``ValueError``."""
    if str(name).startswith("custom:"):
        return name
    ARCHITECTURES.lookup(canonical_arch(name), extra_valid=list(ALIASES))
    return canonical_arch(name)


def build_backbone(
    arch: str = SMALL_RESNET,
    *,
    width: int = 16,
    depth: int = 1,
    norm: str = "batch",
    stem_stride: int = 1,
    in_channels: int = 1,
    image_size: int | None = None,
):
    """Build a registered backbone with random weights (drawn from torch's global RNG: seed it first).

    Parameters
    ----------
    arch : str, default="small-resnet"
        A name of :func:`list_architectures` (``"resnet"`` is an alias of ``"small-resnet"``).
    width, depth, norm, stem_stride : see :class:`nmtune.pretrain.models.SmallResNet` (``small-resnet`` only).
    in_channels : int, default=1
        1 for grayscale, 3 for RGB.
    image_size : int, optional
        Training resolution (a ViT's patch grid is sized for it).

    Returns
    -------
    torch.nn.Module
        Maps ``(B, in_channels, H, W)`` to ``(B, D)``; has ``num_features`` and ``spec()``.
    """
    entry, rest = ARCHITECTURES.lookup(canonical_arch(arch), extra_valid=list(ALIASES))
    factory = resolve(entry, "architecture factory")
    net = factory(
        rest,
        width=width,
        depth=depth,
        norm=norm,
        stem_stride=stem_stride,
        in_channels=in_channels,
        image_size=image_size,
    )
    return net


def backbone_spec(backbone) -> dict | None:
    """The backbone's ``spec()`` (what rebuilds it), or ``None`` for a custom module without one."""
    spec = getattr(backbone, "spec", None)
    return spec() if callable(spec) else None


def legacy_spec(config: dict) -> dict:
    """The spec of a SmallResNet checkpoint written before specs were stored (from its config dict)."""
    return {
        "kind": SMALL_RESNET,
        "arch": SMALL_RESNET,
        "width": int(config["width"]),
        "depth": int(config["depth"]),
        "norm": config["norm"],
        "stem_stride": int(config.get("stem_stride", 1)),  # checkpoints written before the option: 1
        "in_channels": 1,
    }


def backbone_from_spec(spec: dict):
    """Rebuild an untrained backbone from its spec, offline (random weights: load a state dict after).

    Parameters
    ----------
    spec : dict
        From :func:`backbone_spec` (``spec["kind"]`` names the rebuilder; ``"small-resnet"`` when absent).

    Returns
    -------
    torch.nn.Module
    """
    kind = spec.get("kind", SMALL_RESNET)
    if kind not in REBUILDERS:
        raise ValueError(
            f"Unknown backbone kind {kind!r} in a checkpoint; this nmtune rebuilds {sorted(REBUILDERS)}. "
            "Was the checkpoint written by a newer nmtune?"
        )
    return resolve(REBUILDERS[kind], "backbone rebuilder")(spec)


def init_classifier(config, backbone, n_classes: int, in_channels: int, image_size):
    """The backbone (given, or built from the config with seeded weights) plus its projection head."""
    import torch

    from nmtune.pretrain.models import Classifier

    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
        torch.manual_seed(config.seed)
        net = backbone
        if net is None:
            net = build_backbone(
                config.arch,
                width=config.width,
                depth=config.depth,
                norm=config.norm,
                stem_stride=config.stem_stride,
                in_channels=in_channels,
                image_size=image_size,
            )
        return Classifier(net, n_classes)

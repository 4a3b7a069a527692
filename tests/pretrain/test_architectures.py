import json

import pytest
import torch

from nmtune.pretrain.architectures import (
    backbone_from_spec,
    backbone_spec,
    build_backbone,
    check_architecture,
    list_architectures,
)


def test_registry_lists_every_architecture_and_explains_unknown_names():
    names = list_architectures()
    for name in (
        "small-resnet",
        "hf-resnet18",
        "hf-resnet50",
        "hf-vit-s16",
        "hf-config:<config.json>",
        "timm:<name>",
    ):
        assert name in names
    assert check_architecture("resnet") == "small-resnet"  # the name older configs carry
    with pytest.raises(ValueError, match="Did you mean 'hf-resnet18'") as err:
        build_backbone("hf-resnet-18")
    assert "hf-vit-s16" in str(err.value)


@pytest.mark.parametrize(("arch", "dim", "params"), [("hf-resnet18", 512, 11.18e6), ("hf-resnet50", 2048, 23.51e6),
                                                     ("hf-vit-s16", 384, 21.59e6)])  # fmt: skip
def test_transformers_presets_have_the_published_widths_and_rebuild_from_their_spec(arch, dim, params):
    torch.manual_seed(0)
    net = build_backbone(arch, in_channels=3, image_size=32).eval()
    assert net.num_features == dim
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(params, rel=0.01)
    spec = backbone_spec(net)
    assert spec["arch"] == arch and spec["kind"] == "hf"
    json.dumps(spec)  # JSON-able: it travels in the checkpoint, loaded with weights_only=True
    rebuilt = backbone_from_spec(spec).eval()
    rebuilt.load_state_dict(net.state_dict(), strict=True)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        out = net(x)
        assert out.shape == (2, dim)
        torch.testing.assert_close(rebuilt(x), out)


def test_a_transformers_config_file_builds_any_vision_model(tmp_path):
    from transformers import ConvNextConfig

    cfg = ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2, num_channels=1)
    cfg.save_pretrained(tmp_path)
    net = build_backbone(f"hf-config:{tmp_path / 'config.json'}", in_channels=3, image_size=32)
    assert net.num_features == 16 and net.model.config.num_channels == 3  # fitted to the data
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 16)
    assert backbone_spec(net)["arch"] == f"hf-config:{tmp_path / 'config.json'}"
    with pytest.raises(FileNotFoundError, match="config.json"):
        build_backbone(f"hf-config:{tmp_path / 'missing.json'}")


def test_small_resnet_spec_round_trips_and_old_configs_rebuild():
    from nmtune.pretrain.architectures import legacy_spec

    net = build_backbone("resnet", width=4, stem_stride=2, in_channels=3)
    spec = backbone_spec(net)
    assert spec == {"kind": "small-resnet", "arch": "small-resnet", "width": 4, "depth": 1, "norm": "batch",
                    "stem_stride": 2, "in_channels": 3}  # fmt: skip
    assert set(backbone_from_spec(spec).state_dict()) == set(net.state_dict())
    old = legacy_spec({"arch": "resnet", "width": 8, "depth": 1, "norm": "group"})  # no stem_stride key
    assert backbone_from_spec(old).stem[0].stride == (1, 1)


def test_timm_backbones_when_timm_imports():
    pytest.importorskip("timm", reason="timm (through torchvision) does not import with this CPU torch")
    net = build_backbone("timm:resnet18", in_channels=3)
    assert net.num_features == 512
    assert backbone_from_spec(backbone_spec(net)).num_features == 512

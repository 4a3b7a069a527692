"""Contrastive pre-training on WebDataset shards of (image, caption), with a frozen or a trainable text tower."""

import numpy as np
import pytest

from nmtune.pretrain import (
    ContrastiveConfig,
    TrainOptions,
    load_checkpoint,
    pretrain_contrastive,
    zero_shot_predict,
)


def _cfg(shards, **kw):
    base = dict(dataset=f"wds:{shards}", image_size=24, epochs=2, batch_size=24, width=4, embed_dim=16,
                text_hidden=None, noise=0.25, n_train=None, n_test=None)  # fmt: skip
    base.update(kw)
    return ContrastiveConfig(**base)


@pytest.mark.parametrize("text_model", [None, "hf-text-tiny"])
def test_shards_train_a_clip_model_and_it_classifies_zero_shot(glyph_shards, tmp_path, text_model):
    from nmtune.datasets.image_sources import open_image_source

    out = tmp_path / "clip.pt"
    ck = pretrain_contrastive(
        _cfg(glyph_shards, text_model=text_model), out=out, progress=False, device="cpu"
    )
    n = 72
    assert ck["realised_noise_rate"] == round(0.25 * n) / n  # exactly round(gamma N) images swapped
    assert 0 < ck["effective_noise_rate"] <= ck["realised_noise_rate"]
    assert ck["n_captions"] == 6 and ck["preprocessing"]["channels"] == 3
    assert (ck["text_tower"] is None) == (text_model is None)
    assert (ck["text_encoder"] is None) == (text_model is not None)
    assert 0.0 <= ck["zero_shot_test_accuracy"] <= 1.0 and ck["noisy_train_accuracy_n"] == n
    # the checkpoint classifies the test shards' images (read back as arrays) as it scored them in training
    test = open_image_source(f"wds:{glyph_shards}", "test")
    images = np.stack([test.read(i) for i in range(len(test))])
    pred = zero_shot_predict(load_checkpoint(out), images, list(test.class_names))
    assert np.mean(pred == test.labels) == pytest.approx(ck["zero_shot_test_accuracy"])


def test_caption_shards_without_a_test_split_and_accumulation_refused(tmp_path, glyph_data):
    from nmtune.datasets.shards import write_shards

    (images, labels), names = glyph_data[0]["train"], glyph_data[1]
    write_shards(
        ({"image": im, "caption": f"glyph {names[y]}"} for im, y in zip(images, labels)), tmp_path / "w"
    )
    ck = pretrain_contrastive(_cfg(tmp_path / "w", epochs=1), progress=False, device="cpu")
    assert ck["zero_shot_test_accuracy"] is None and ck["n_captions"] == 6
    with pytest.raises(ValueError, match="cannot be split into micro-batches"):
        pretrain_contrastive(_cfg(tmp_path / "w"), progress=False, options=TrainOptions(grad_accum=2))

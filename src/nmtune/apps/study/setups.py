"""The study's set-ups: which suite holds the downstream tasks, the OOD shift of each task, zero-shot captions.

Two set-ups, each a suite of :mod:`nmtune.suites` (so ``nmtune run`` can evaluate any encoder on the same
tasks, selecting the same rows):

- ``"glyphs"`` (default), suite ``noisy-pretrain-glyphs``: the backbone is pre-trained on ``glyphs-pretrain``
  classes; downstream, ``glyphs-id`` (62 *new* classes, ASCII ``0-9A-Za-z``, in the pre-training fonts) with the
  same classes in the held-out font families ``glyphs-ood:stix`` and ``glyphs-ood:cm`` as OOD domains; and
  handwritten digits, MNIST-5k -> optdigits and optdigits -> MNIST-5k (printed glyphs to handwriting: both digit
  sets are OOD for the backbone, the other digit set is the task's OOD domain).
- ``"fashion"`` (the first, Fashion-MNIST study), suite ``noisy-pretrain-fashion``: the digit tasks plus
  Fashion-MNIST's test split halved (``test-half:fashion-mnist``) into a train and a test half, with
  ``fashion-mnist-c:<corruption>:<severity>`` of the test half as OOD domains (``StudyConfig.corruptions``).
- ``"images"``: your own images on disk, streamed: pre-training on ``pretrain.dataset`` (an image folder,
  WebDataset shards, a Hugging Face dataset saved to disk) and the downstream tasks of ``StudyConfig.images``
  (image folders, domain collections with one OOD domain per held-out domain);
  :mod:`nmtune.apps.study.images`, docs/study-images.md.
"""

from __future__ import annotations

import dataclasses
import unicodedata

__all__ = ["SETUPS", "SUITES", "SHIFTS", "study_suite", "captions"]

SETUPS = ("glyphs", "fashion", "images")
#: The packaged suite of each set-up (``images`` builds its suite from the configuration's tasks).
SUITES = {"glyphs": "noisy-pretrain-glyphs", "fashion": "noisy-pretrain-fashion"}

#: The kind of distribution shift of each task's OOD domains (figures and tables show them apart: the font
#: shift and near-chance digit transfer are not averaged into one panel).
SHIFTS = {
    "glyphs-id": "font families",
    "mnist-5k": "handwritten digits",
    "optdigits": "handwritten digits",
    "fashion-mnist": "corruptions",
}

_DEFAULT_CORRUPTIONS = ("gaussian:2", "blur:2", "contrast:2", "rotation:2")


def study_suite(config):
    """The suite of a study configuration (its ``setup``; for ``fashion``, its ``corruptions``).

    Parameters
    ----------
    config : StudyConfig
        Uses ``setup`` and ``corruptions`` (``images`` for the ``images`` set-up).

    Returns
    -------
    Suite
        The packaged suite; with other corruptions than the packaged ones, the same suite with those OOD
        domains and a name saying so (the name enters every run id).
    """
    if config.setup == "images":
        from nmtune.apps.study.images import images_suite

        return images_suite(config)
    from nmtune.datasets import dataset_splits
    from nmtune.suites import DataRef, Domain, get_suite

    suite = get_suite(SUITES[config.setup])
    if config.setup != "fashion" or tuple(config.corruptions) == _DEFAULT_CORRUPTIONS:
        return suite
    tasks = []
    for task in suite.tasks:
        if task.name == "fashion-mnist":
            evals = [d for d in task.evals if d.kind == "id"]
            for c in config.corruptions:
                dataset_splits(f"fashion-mnist-c:{c}")  # a bad name lists the valid ones
                evals.append(
                    Domain(f"fashion-mnist-c:{c}", DataRef(f"test-half:fashion-mnist-c:{c}", "test"), "ood")
                )
            task = dataclasses.replace(task, evals=tuple(evals))
        tasks.append(task)
    return dataclasses.replace(suite, name=f"{suite.name}+{','.join(config.corruptions)}", tasks=tuple(tasks))


def captions(class_names) -> list[str]:
    """Zero-shot captions of the classes: a one-character name by its Unicode name (``"0"`` -> ``"DIGIT ZERO"``).

    Glyph classes are already named by their Unicode names; Fashion-MNIST's by words.
    """
    return [unicodedata.name(c) if len(c) == 1 else c for c in map(str, class_names)]

"""Workflows: read inputs, call the library, write outputs. The command line (:mod:`nmtune.cli`) calls these.

Layering: ``cli`` -> ``apps`` -> {``pretrain``, ``protocol``, ``report``, ``api``} -> {``cache``, ``encoders``,
``datasets``, ``heads``, ``spectrum``, ``noise``, ``losses``} -> ``_internal``. The library packages below this
layer do no file-level workflow of their own.

- :mod:`nmtune.apps.run`: ``run_config`` (``nmtune run``) and ``run_demo`` (``nmtune demo``).
- :mod:`nmtune.apps.tune`: ``tune_features`` / ``load_tuned`` (``nmtune tune``).
- :mod:`nmtune.apps.analyze`: ``analyze_feature_file`` (``nmtune analyze``).
- :mod:`nmtune.apps.study`: ``run_study`` / ``report_study`` (``nmtune study noisy-pretrain``).
"""

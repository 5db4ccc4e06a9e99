"""Pretraining OMAR-RQ models (spec §7): the masked-token SSL module, its data, and the training entry point.

Inference (:func:`omar_rq.get_model`) never imports this package, so extracting embeddings does not load Lightning;
importing the package itself loads nothing either (``omar-bench --help`` reads :mod:`.args` only): its names are
imported on first use.

- :mod:`.masking`, :mod:`.quantizers`: span masking and the frozen target tokenisers;
- :mod:`.maskingmodel`: the SSL ``LightningModule`` (``modules.maskingmodel.MaskingModel``);
- :mod:`.data`: the audio ``LightningDataModule`` (random crops of a folder or file lists);
- :mod:`.build`: a gin config → the module and its trainer / data / schedule bindings;
- :mod:`.callbacks`: the learning-rate schedule, the released-format writer and the loss curve;
- :mod:`.trainer`: :func:`pretrain` and the command line (``python -m omar_rq.train --help``);
- :mod:`.args`: the command line's options (no torch, no Lightning).
"""
__all__ = ["build_pretraining_module", "pretrain", "PretrainInfo", "PretrainError"]

_WHERE = {"build_pretraining_module": "build", "PretrainInfo": "build", "pretrain": "trainer",
          "PretrainError": "trainer"}


def __getattr__(name):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

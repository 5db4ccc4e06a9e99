"""Pretraining OMAR-RQ models (spec §7): the masked-token SSL module, its data, and the training entry point.

Inference (:func:`omar_rq.get_model`) never imports this package, so extracting embeddings does not load Lightning.

- :mod:`.masking`, :mod:`.quantizers`: span masking and the frozen target tokenisers;
- :mod:`.maskingmodel`: the SSL ``LightningModule`` (``modules.maskingmodel.MaskingModel``);
- :mod:`.data`: the audio ``LightningDataModule`` (random crops of a folder or file lists);
- :mod:`.build`: a gin config → the module and its trainer / data / schedule bindings;
- :mod:`.callbacks`: the learning-rate schedule, the released-format writer and the loss curve;
- :mod:`.trainer`: :func:`pretrain` and the command line (``python -m omar_rq.train --help``).
"""
from .build import PretrainInfo, build_pretraining_module
from .trainer import PretrainError, pretrain

__all__ = ["build_pretraining_module", "pretrain", "PretrainInfo", "PretrainError"]

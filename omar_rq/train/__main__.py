"""``python -m omar_rq.train``: pretrain a model from a gin config (``--help`` lists every option)."""
import sys

from .trainer import main

sys.exit(main())

"""The options of ``python -m omar_rq.train`` / ``omar-bench pretrain``, importable without torch or Lightning
(so ``omar-bench --help`` stays fast)."""
from __future__ import annotations

import argparse


def build_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """The options of ``python -m omar_rq.train`` (also ``omar-bench pretrain``, which inherits them)."""
    p = argparse.ArgumentParser(
        prog="python -m omar_rq.train", add_help=add_help,
        description="Pretrain an OMAR-RQ model (masked-token prediction) from a gin config, writing the released\n"
                    "format (config.gin + model.ckpt, loadable with omar_rq.get_model / omar-bench run), Lightning\n"
                    "checkpoints (a rerun with the same --output resumes from checkpoints/last.ckpt) and the loss\n"
                    "curve (metrics.csv).",
        epilog="Examples:\n"
               "  python -m omar_rq.train --config cfg/pretrain/tiny.gin --data-dir /tmp/synth "
               "--output /tmp/tiny-run\n"
               "  python -m omar_rq.train --config cfg/pretrain/tiny.gin --data-dir /tmp/synth --max-steps 4 "
               "--accelerator cpu --devices 2 --strategy ddp --output /tmp/ddp-run      # 2-process gloo DDP\n"
               "  python -m omar_rq.train --config cfg/pretrain/base.gin --filelist-train train.txt "
               "--filelist-val val.txt --data-dir /data/audio --output runs/base      # 2 nodes x 4 GPUs, bf16",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="pretraining gin config, e.g. cfg/pretrain/tiny.gin (released "
                   "and development configs work too)")
    p.add_argument("--data-dir", help="audio folder (searched recursively) or the root that file-list entries are "
                   "relative to; overrides DiscotubeAudioDataModule.data_dir")
    p.add_argument("--filelist-train", help="text file, one audio path per line (relative to --data-dir)")
    p.add_argument("--filelist-val", help="validation file list; default: a seeded 5%% hold-out of the training files")
    p.add_argument("--output", help="output folder (default: runs/<config name>)")
    p.add_argument("--max-steps", type=int, help="optimizer steps (overrides train.params max_steps)")
    p.add_argument("--batch-size", type=int,
                   help="per-device batch size (overrides DiscotubeAudioDataModule.batch_size)")
    p.add_argument("--num-workers", type=int, help="DataLoader workers (overrides AudioDataModule.num_workers)")
    p.add_argument("--accelerator", help="cpu, gpu or auto (overrides train.params)")
    p.add_argument("--devices", help="devices per node, e.g. 1, 4 or auto (overrides train.params)")
    p.add_argument("--num-nodes", type=int, help="nodes (overrides train.params)")
    p.add_argument("--strategy", help="Lightning strategy, e.g. ddp, ddp_find_unused_parameters_true, auto")
    p.add_argument("--precision",
                   help="e.g. 32-true, bf16-mixed (default: the config's; mixed falls back to 32 on CPU)")
    p.add_argument("--checkpoint-every", type=int, help="optimizer steps between checkpoints (default: "
                   "min(1000, max_steps // 10))")
    p.add_argument("--log-every", type=int, help="steps between loss-curve rows (overrides log_every_n_steps)")
    p.add_argument("--seed", type=int, help="seed of the initial weights and data order (default: MaskingModel.seed)")
    p.add_argument("--threads", type=int, help="CPU intra-op threads per process (default: free cores per process)")
    p.add_argument("--encodec-weights", help="EnCodec 24 kHz weights folder (transformers format) for EnCodec views")
    p.add_argument("--encodec-stats", help="EnCodec normalisation statistics JSON (overrides EnCodec.stats_path)")
    p.add_argument("--cache", choices=["auto", "always", "never"], help="decode every file once into memory "
                   "(auto: when the decoded audio fits 4 GiB per process) or read each crop from disk")
    p.add_argument("--val-fraction", type=float, help="seeded hold-out of the training files for validation when no "
                   "--filelist-val (default 0.05; 0 = no validation)")
    p.add_argument("--no-resume", action="store_true", help="start over even if <output>/checkpoints/last.ckpt exists")
    p.add_argument("--progress-bar", action="store_true", help="show Lightning's progress bar and model summary")
    return p

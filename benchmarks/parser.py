"""The ``omar-bench`` command line's parser: every subcommand, its flags and its ``--help`` text (the commands
themselves are :mod:`benchmarks.commands`; :mod:`benchmarks.cli` ties the two together)."""
from __future__ import annotations

import argparse

__all__ = ["build_parser", "Parser", "EPILOG"]

EPILOG = """examples:
  omar-bench run --model mel --task synth-nsynth-pitch          # offline, synthesised data, no weights needed
  omar-bench run --model base --task mtat --data-dir ~/data/mtat --layers all
  omar-bench run --model s8 --task nsynth-pitch --checkpoint-root ~/omar-runs --train-subset 20000 --json
  omar-bench table --format latex --out tables.tex
  omar-bench reproduce --table multiview --data-root ~/data --checkpoint-root ~/omar-runs

environment: OMAR_BENCH_DATA (dataset root: mtat/, nsynth/, beats/, gtzan/, ballroom/, chords/, harmonix/,
pianosyllabus/, giantsteps/ — `omar-bench tasks` shows each layout), OMAR_BENCH_CHECKPOINTS
(development run folders), OMAR_BENCH_CACHE (embedding cache, synthesised data), OMAR_BENCH_RESULTS (records),
OMAR_BENCH_ENCODEC_WEIGHTS (EnCodec 24 kHz weights folder for EnCodec-input models), HF_HUB_CACHE / HF_HOME."""


def _common_paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results-dir", default=None,
                   help="where result records go (default: $OMAR_BENCH_RESULTS or ./results)")
    p.add_argument("--cache-dir", default=None,
                   help="embedding cache and synthesised data (default: $OMAR_BENCH_CACHE or ~/.cache/omar-bench)")


def _adapter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-options", default=None, metavar="JSON",
                   help="keyword arguments for hear: load_model(), py: factories and hf: adapters, as a JSON object "
                        "(e.g. '{\"hop_ms\": 20}')")
    p.add_argument("--weights", default=None, metavar="PATH",
                   help="weights file for hear: (model_file_path) and py: (weights=) encoders")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="hf: allow a model repository's own code to run (MERT-style models); off by default")




def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint-root", default=None,
                   help="folder holding development run folders <run id>/checkpoints/ (default: "
                        "$OMAR_BENCH_CHECKPOINTS)")
    p.add_argument("--encodec-weights", default=None,
                   help="EnCodec 24 kHz weights folder (transformers format) for EnCodec-input models "
                        "(default: $OMAR_BENCH_ENCODEC_WEIGHTS, else the model config's path)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")


def _schedule_args(p: argparse.ArgumentParser) -> None:
    """Options of the probes' training schedule (``run``, ``reproduce``)."""
    p.add_argument("--max-epochs", type=int, default=None, help="probe training epochs cap (default 100)")
    p.add_argument("--frame-schedule", default=None, metavar="EVERY,PATIENCE,MAX",
                   help="frame-level tasks (beats, chords, structure): validate every EVERY optimizer steps when an "
                        "epoch is longer, stop a probe after PATIENCE steps without a better validation, train at "
                        "most MAX steps (default 500,2000,8000; the record states the schedule used)")
    p.add_argument("--separate-folds", action="store_true",
                   help="train each fold of a cross-validation in fits of its own (default: folds that validate "
                        "after the same number of steps share their fits, as far as memory allows; each probe "
                        "trains exactly as alone, so the metrics agree to float rounding)")
    p.add_argument("--postprocess-workers", type=int, default=None, metavar="N",
                   help="processes decoding frame-level test outputs (beat tracking, chord and structure segments) "
                        "while the next fold trains (default: 0 when probes train on the CPU, up to 4 on CUDA; "
                        "the metrics do not depend on it)")


def _extraction_args(p: argparse.ArgumentParser) -> None:
    """Options of extraction and storage (``run``, ``reproduce``)."""
    p.add_argument("--cache-dtype", default="float32", choices=["float32", "float16"],
                   help="storage precision of cached embeddings (default float32, exact; float16 halves the bytes, "
                        "relative error <= 2^-11)")
    p.add_argument("--decode-workers", type=int, default=None,
                   help="processes decoding audio ahead of the encoder (default: 0 on CPU, up to 4 on CUDA)")
    p.add_argument("--compile", action="store_true", help="torch.compile the encoder (off by default)")
    p.add_argument("--devices", type=int, default=1,
                   help="processes / GPUs per node; extraction is sharded across them, rank 0 probes (default 1)")
    p.add_argument("--num-nodes", type=int, default=1, help="nodes (with --devices; default 1)")
    p.add_argument("--strategy", default=None, help="ddp (the default with --devices > 1)")






class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: a bad flag prints ``omar-bench <cmd>: error: <why> (see … --help)`` and exits
    with status 2, like every other user error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(
        prog="omar-bench", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Evaluate frozen music audio encoders (OMAR-RQ and baselines) with linear / MLP probes on MIR "
                    "tasks, regenerate comparison tables, and pretrain OMAR-RQ models.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("run", help="probe one model on one task; writes one record per layer",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
                       description="Extract embeddings (cached), train probes with the protocol's grid sweep and "
                                   "early stopping, score the test split, write one result record per layer. "
                                   "A task's own options (e.g. --train-subset N for NSynth, --split / --split-dir "
                                   "for MTAT) follow the other flags; `omar-bench tasks` lists each task's options.")
    r.add_argument("--model", required=True,
                   help="mel | random-<arch> (e.g. random-tiny, random-base) | registry id (b0 … f1, base, "
                        "multifeature-25hz-fsq …) | Hugging Face id | model folder / config.gin / run folder | "
                        "hear:<module> | hf:<id or path> | py:<module>:<callable>")
    r.add_argument("--task", required=True, help="see `omar-bench tasks` (e.g. mtat, nsynth-pitch, beats, "
                                                 "synth-nsynth-pitch)")
    r.add_argument("--data-dir", default=None,
                   help="dataset folder in its download layout (default: $OMAR_BENCH_DATA/<task folder>; "
                        "synth-* tasks synthesise their data on first use)")
    r.add_argument("--layers", default=None,
                   help="0-based block(s): 6 | 0,6,11 | all (default: 6, or the last block of shallower models)")
    r.add_argument("--probe", default="grid", choices=["grid", "mlp", "linear"],
                   help="grid = lr {1e-4,3e-4,1e-3} x {linear, MLP 512} x dropout {0,0.2} (default); "
                        "mlp / linear restrict the head")
    r.add_argument("--seed", type=int, default=0, help="probe seed (default 0)")
    r.add_argument("--seeds", type=int, default=1, help="repeat with seeds seed..seed+N-1; report mean ± std")
    r.add_argument("--max-bad-fraction", type=float, default=0.25,
                   help="fail when more than this fraction of audio files is unusable (default 0.25); "
                        "fewer are skipped and listed in the record")
    _schedule_args(r)
    r.add_argument("--json", action="store_true",
                   help="print one JSON object as the last line of stdout (metrics under \"metrics\")")
    r.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    _common_paths(r)
    _model_args(r)
    _adapter_args(r)
    _extraction_args(r)

    v = sub.add_parser("validate", help="check an encoder against the contract (shapes, frame rate, determinism, "
                                        "long inputs, memory)",
                       description="Check that MODEL keeps the encoder contract before spending hours on it: sample "
                                   "rate, shapes, frame rate vs eps, finite and deterministic output, batch "
                                   "invariance, 1 s inputs, and (unless --quick) 2 min and 10 min inputs. Exit "
                                   "status 0 when every check passes, 1 otherwise.",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  omar-bench validate mel\n  omar-bench validate hf:./my-wav2vec2 --quick\n"
                              "  omar-bench validate py:mypkg.encoders:make --model-options '{\"size\": \"small\"}'")
    v.add_argument("model", help="any --model of `omar-bench run`")
    v.add_argument("--quick", action="store_true", help="only the cheap checks (what `run` does before extracting)")
    v.add_argument("--long-minutes", type=float, default=10.0, help="length of the memory check's input (default 10)")
    v.add_argument("--json", action="store_true", help="print the results as one JSON object")
    _model_args(v)
    _adapter_args(v)

    t = sub.add_parser("tasks", help="list tasks and whether their data is found")
    _common_paths(t)
    t.add_argument("--data-root", default=None, help="dataset root to look in (default: $OMAR_BENCH_DATA)")

    m = sub.add_parser("models", help="list models and whether their checkpoints are found")
    m.add_argument("--checkpoint-root", default=None, help="development run folders (default: "
                                                           "$OMAR_BENCH_CHECKPOINTS)")

    tb = sub.add_parser("table", help="regenerate the comparison tables from the result records",
                        description="Each table side by side with its published reference values and the "
                                    "difference; '—' marks cells with no result. Also writes layer-wise and bar "
                                    "plots (PNG + PDF) with --plots.")
    tb.add_argument("--format", default="md", choices=["md", "latex", "csv"])
    tb.add_argument("--out", default=None, help="write to this file instead of stdout")
    tb.add_argument("--tables", default=None,
                    help="comma-separated subset: baseline, multiview, freesound, released, marble, offline, all "
                         "(every record, one column per task) (default: every table that has results or references)")
    tb.add_argument("--plots", default=None, metavar="DIR", help="also write plots into DIR")
    tb.add_argument("--results-dir", default=None, help="records folder (default: $OMAR_BENCH_RESULTS or "
                                                        "./results)")

    rp = sub.add_parser("reproduce", help="run every missing cell of a table, then print it (resumable)")
    rp.add_argument("--table", required=True, help="baseline | multiview | freesound | released | marble | offline | all")
    rp.add_argument("--models", default=None,
                    help="comma-separated models (default: the table's models; offline: mel,random-tiny)")
    _schedule_args(rp)
    rp.add_argument("--data-root", default=None, help="dataset root holding each task's folder (mtat/, nsynth/, beats/, "
                                                      "chords/, harmonix/, pianosyllabus/, giantsteps/ …) "
                                                      "(default: $OMAR_BENCH_DATA)")
    rp.add_argument("--layers", default=None,
                    help="all | 6 | 0,6,11 (default: the table's: layer 6 for the development tables, every layer "
                         "for the released table, the default layer for the offline suite)")
    rp.add_argument("--probe", default="grid", choices=["grid", "mlp", "linear"])
    rp.add_argument("--seed", type=int, default=0)
    rp.add_argument("--plots", default=None, metavar="DIR", help="also write plots into DIR")
    rp.add_argument("--quiet", action="store_true")
    _common_paths(rp)
    _model_args(rp)
    _extraction_args(rp)

    cp = sub.add_parser("compare", help="paired bootstrap of two models on the same test tracks: the difference, its "
                                        "95 %% interval and the p-value",
                        description="Each model's record is the one a table cell would show (best layer by "
                                    "validation, or --layer). Both are scored on the same bootstrap resamples of "
                                    "their shared test tracks (benchmarks.stats: 1000 resamples, fixed seed, within "
                                    "folds).")
    cp.add_argument("model_a", metavar="A")
    cp.add_argument("model_b", metavar="B")
    cp.add_argument("--task", required=True)
    cp.add_argument("--metric", default=None, help="default: the task's primary metric")
    cp.add_argument("--layer", type=int, default=None, help="a fixed layer for both (default: best by validation)")
    cp.add_argument("--results-dir", default=None, help="records folder (default: $OMAR_BENCH_RESULTS or ./results)")

    rpt = sub.add_parser("report", help="write the static HTML report (one page, no server, no network) from the "
                                        "records")
    rpt.add_argument("--out", required=True, metavar="DIR", help="folder receiving index.html and the records")
    rpt.add_argument("--results-dir", default=None, help="records folder (default: $OMAR_BENCH_RESULTS or "
                                                         "./results)")

    d = sub.add_parser("data", help="datasets: `data synth` renders the offline sets in the real layouts")
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION")
    ds = dsub.add_parser("synth", help="render the synthesised sets in the real layouts (deterministic)")
    ds.add_argument("--out", default=None, help="output folder (default: <cache dir>/synth)")
    ds.add_argument("--sets", default="all", help="comma-separated subset of nsynth, beats, mtat, chords, "
                                                  "structure, difficulty, key (default: all)")
    ds.add_argument("--cache-dir", default=None)

    from omar_rq.train.args import build_parser as pretraining_parser

    parent = pretraining_parser(add_help=False)
    pt = sub.add_parser("pretrain", parents=[parent], help="pretrain an OMAR-RQ model from a gin config (writes "
                                                           "config.gin + model.ckpt)",
                        description=parent.description + "\n\nWith no --data-dir / --filelist-train, a config whose "
                        "data_dir is \"synth:\" (cfg/pretrain/tiny.gin) trains on the synthesised offline sets' "
                        "train / valid audio, rendered on first use. --config also takes a shipped config by name "
                        "(tiny, base, …).",
                        epilog="examples:\n  omar-bench pretrain --config tiny --max-steps 800      # synthesised "
                               "audio, ~3 min on 2 CPU cores\n"
                               + parent.epilog.replace("python -m omar_rq.train", "omar-bench pretrain")
                               .replace("Examples:\n", ""),
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    pt.add_argument("--cache-dir", default=None, help="where the synthesised audio is rendered (default: "
                                                       "$OMAR_BENCH_CACHE or ~/.cache/omar-bench)")
    return ap

"""Normalisation statistics of a config's views over your own audio: the ``norm_mean`` / ``norm_std`` bindings.

The released configs z-normalise each view with statistics of their training audio (Discogs); pretraining on other
audio should use statistics of *that* audio, otherwise e.g. quiet, sparse spectra all fall on a few target tokens.

    python -m omar_rq.view_stats --config cfg/models/tiny.gin --data-dir AUDIO [--filelist train.txt] [--max-files N]

prints the gin bindings to paste into the config (EnCodec views: the JSON for ``stats_path``). Statistics are over
every value of the un-normalised view output (all bins and frames), accumulated in float64.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .audio import AUDIO_EXTENSIONS, AudioLoadError, load_audio
from .config import (GIN_VIEWS, base_class, bound_build_module, input_view_configurable, parsed_config,
                     view_kwargs)
from .views import EnCodec


def build_views(config: str | Path, encodec_weights_path=None) -> dict[str, torch.nn.Module]:
    """Every view of ``build_module.representation`` and the input view, with their normalisation switched off."""
    path = Path(config)
    names = {c: s for s, c in GIN_VIEWS.items()}
    with parsed_config(path):
        rep = bound_build_module(path)["representation"]
        multi = isinstance(rep, (list, tuple))
        configurables = list(rep) if multi else [rep]
        if multi:
            configurables.append(input_view_configurable(path, rep))
        views = {}
        for cfg in configurables:
            cls = base_class(cfg)
            if names[cls] in views:
                continue
            view = cfg(**view_kwargs(cls, multi, path, encodec_weights_path))
            if isinstance(view, EnCodec):
                view.mean.zero_()
                view.std.fill_(1.0)
            else:
                view.norm_mean = view.norm_std = None
            views[names[cls]] = view.eval()
    return views


@torch.no_grad()
def view_statistics(config: str | Path, files: list[Path], encodec_weights_path=None) -> dict[str, dict]:
    """``{gin selector: {"mean", "std", "n_values", "n_files"}}`` over ``files`` (unreadable files are skipped)."""
    views = build_views(config, encodec_weights_path)
    acc = {name: [0.0, 0.0, 0, 0] for name in views}
    for f in files:
        try:  # each file decoded once per sample rate the views need
            audio = {sr: load_audio(f, sr)[None] for sr in {v.sr for v in views.values()}}
        except AudioLoadError as e:
            print(f"skipped {e}", file=sys.stderr)
            continue
        for name, view in views.items():
            y = view(audio[view.sr]).double()
            a = acc[name]
            a[0] += float(y.sum())
            a[1] += float((y * y).sum())
            a[2] += y.numel()
            a[3] += 1
    out = {}
    for name, (s, ss, n, nf) in acc.items():
        if n == 0:
            raise ValueError("no readable audio among the files given")
        mean = s / n
        out[name] = {"mean": mean, "std": max(ss / n - mean * mean, 0.0) ** 0.5, "n_values": n, "n_files": nf}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--data-dir", required=True, help="audio folder (recursive) or the root of --filelist entries")
    ap.add_argument("--filelist", help="text file of audio paths relative to --data-dir")
    ap.add_argument("--max-files", type=int, default=None)
    ap.add_argument("--encodec-weights", default=None)
    args = ap.parse_args(argv)
    root = Path(args.data_dir).expanduser()
    if args.filelist:
        files = [root / line.strip() for line in Path(args.filelist).read_text().splitlines()
                 if line.strip() and not line.startswith("#")]
    else:
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    files = files[: args.max_files] if args.max_files else files
    stats = view_statistics(args.config, files, args.encodec_weights)
    for name, st in stats.items():
        print(f"# {name}: {st['n_files']} files, {st['n_values']} values")
        if name == "nets.encodec.EnCodec":
            print(f"# EnCodec stats JSON (stats_path): {json.dumps({'mean': st['mean'], 'std': st['std']})}")
        else:
            print(f"{name}.norm_mean = {st['mean']:.6g}\n{name}.norm_std = {st['std']:.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

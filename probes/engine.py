"""The batched probe engine: many probes trained at once, driven by one Lightning ``Trainer.fit``.

(About 530 lines, on purpose: the LightningModule's training step, groups, bulk validation, per-probe early stopping
and retirement are one mechanism whose invariants — see below — are easier to check in one place; the bank, optimizer,
FLOP counts and specs are their own modules.)

A *probe* (:class:`ProbeSpec`) is a head (linear or one-hidden-layer MLP, :mod:`probes.bank`) with its learning
rate, dropout and seed, reading one *input* (a layer) of the stacked inputs ``x (U, N, D)``. One fit trains every
probe of a list at once: every grid point of a sweep, every layer, every seed.

How (and why it equals fitting each probe alone)
------------------------------------------------
- **Banks.** Probes with the same hidden width live in one :class:`HeadBank` (ordered by learning rate, dropout,
  input, seed), their weights stacked on a leading probe axis ``P``; a forward is one batched matmul (``torch.bmm``)
  per layer of the head. Each bank is one parameter group of one :class:`ProbeAdamW`, which applies torch's AdamW to
  each run of probes sharing a learning rate, so every probe gets exactly the AdamW update it would get alone (AdamW
  is element-wise; the loss is the sum of the probes' own mean losses, so each probe's gradient is its own).
- **Same randomness as alone.** Everything random depends only on the probe's seed: initial weights (``nn.Linear``'s
  rule, U(±1/√fan_in), drawn from a generator seeded by the seed), the shuffling of the training rows (one
  permutation per data epoch from the seed's generator; probes sharing a seed share their batches), and dropout (a
  uniform draw per step from the seed's generators, shared by the seed's probes; a probe drops where the draw is below
  its rate). A probe fitted in a batch of 288 sees exactly the batches, masks and initial weights of a one-probe fit
  (tested to float tolerance).
- **Rounds.** Lightning's epoch is one *round* = the steps between two validations: a data epoch (``val_every``
  epochs) by default, or ``steps_per_round`` steps (the framewise schedule at real size, see
  :func:`round_schedule`). Each Lightning training step is one optimizer step for all probes (manual optimisation,
  batch rows gathered by index from tensors kept on the device: no per-row ``Dataset``, no collate).
- **Validation in bulk.** After each round every live probe scores the whole validation split in one pass
  (``(P, N_valid, K)`` probabilities), and the metric is computed for all probes together (:mod:`probes.batched_metrics`
  or a task's batched metric); the validation loss (the training loss on the validation rows) breaks ties.
- **Groups.** The probes may belong to several *groups* (the folds of a cross-validation), each with its own
  training and validation split and metric (``fit_many``'s lists). A probe's batches and dropout masks come from
  generators of its (group, seed), drawn at its group's batch size; a group whose batch is shorter in a step (the
  end of its data epoch) is padded to the longest and its padding rows are masked out of its loss. Validation
  scores each group's probes on that group's split. So a probe trains as in a fit of its group alone.
- **Early stopping per probe.** Each probe keeps its own best score, best round and best weights (copied on
  improvement) and its own patience counter. A probe whose patience runs out is *retired*: its best weights leave
  the bank and the bank shrinks (parameters and AdamW state sliced in place), so the remaining rounds cost only what the
  live probes need. The fit ends when every probe has stopped or ``max_epochs`` rounds are done.

"Better" = a strictly higher validation score, or (``tie_break="loss"``) the same score and a strictly lower
validation loss; a non-finite score or loss counts as the worst.
"""
from __future__ import annotations

import contextlib
import logging
import math
import warnings
from typing import Callable, Sequence

import lightning as L
import numpy as np
import torch
from torch import nn

from .bank import HeadBank, SubBank, applied_dropout, dropout_threshold, uniform16
from .flops import add_flops, add_step
from .optim import ProbeAdamW
from .spec import ProbeOutcome, ProbeSpec, Split, derive_seed, torch_device

__all__ = ["BatchedProbes", "fit_many", "round_schedule", "quiet", "nan_low", "EVAL_ROWS"]

#: Rows per forward pass at validation / prediction time (the same chunking in both, so scores reproduce exactly).
EVAL_ROWS = 8192


def nan_low(v: float | None) -> float:
    """``v``, or -inf when it is None or not finite (a missing or broken score ranks lowest)."""
    return -np.inf if v is None or not np.isfinite(v) else v


def nan_high(v: float | None) -> float:
    """``v``, or +inf when it is None or not finite (a missing or broken loss ranks highest)."""
    return np.inf if v is None or not np.isfinite(v) else v


# ----------------------------------------------------------------------------------------------------------------
# The schedule of training batches
# ----------------------------------------------------------------------------------------------------------------
def round_schedule(n_rows: int, batch_size: int, val_every: int = 1, steps_per_round: int | None = None) -> dict:
    """Steps per round for ``n_rows`` training rows: ``val_every`` data epochs (``ceil(n / batch)`` steps each, the
    last batch partial) — or ``steps_per_round`` when given and shorter (the schedule for large framewise sets:
    validation every N steps instead of after 350 k frames)."""
    per_epoch = max(1, math.ceil(n_rows / max(1, batch_size)))
    epoch_based = steps_per_round is None or steps_per_round >= per_epoch * val_every
    steps = per_epoch * int(val_every) if epoch_based else int(steps_per_round)
    return {"steps_per_epoch": per_epoch, "steps_per_round": steps, "unit": "epoch" if epoch_based else "step",
            "val_every": int(val_every) if epoch_based else None}


class _Batches(torch.utils.data.IterableDataset):
    """Training batches as row indices ``(S, b)`` (one row per distinct seed), ``steps`` per Lightning epoch.

    Per seed, rows are drawn epoch by epoch from ``torch.randperm`` of the seed's own generator; batches of
    ``batch_size`` rows, the last one of an epoch partial. The iterator continues across Lightning epochs, so a round
    may end inside a data epoch (the step schedule). Probes sharing a seed share every batch; a probe's batches depend
    only on its seed, never on the other probes.
    """

    def __init__(self, n_rows: int, batch_size: int, seeds: Sequence[int], steps: int):
        self.n, self.bs, self.steps = int(n_rows), int(batch_size), int(steps)
        self.gens = [torch.Generator().manual_seed(derive_seed(s, "shuffle")) for s in seeds]
        self.perms: torch.Tensor | None = None
        self.pos = 0
        self.epochs_started = 0

    def __len__(self) -> int:
        return self.steps

    def _next(self) -> torch.Tensor:
        if self.perms is None or self.pos >= self.n:
            self.perms = torch.stack([torch.randperm(self.n, generator=g) for g in self.gens])
            self.pos = 0
            self.epochs_started += 1
        out = self.perms[:, self.pos:self.pos + self.bs]
        self.pos += self.bs
        return out

    def __iter__(self):
        for _ in range(self.steps):
            yield self._next()


class _GroupBatches(torch.utils.data.IterableDataset):
    """The batches of several groups (e.g. folds) in one fit: per step, a list with each group's ``(S, b_g)`` row
    indices, each group drawn exactly as its own :class:`_Batches` (its own rows, the same seeds)."""

    def __init__(self, n_rows: Sequence[int], batch_size: int, seeds: Sequence[int], steps: int):
        self.parts = [_Batches(n, batch_size, seeds, steps) for n in n_rows]
        self.steps = int(steps)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        for _ in range(self.steps):
            yield [b._next() for b in self.parts]


class _OneShot(torch.utils.data.Dataset):
    """The validation "loader": one item per Lightning validation = the number of rows (scored in bulk)."""

    def __init__(self, n_rows: int):
        self.n = n_rows

    def __len__(self) -> int:
        return 1

    def __getitem__(self, i):
        return self.n


def _groups(x) -> list:
    """A split (or metric) or a list of them → a list (one entry per group)."""
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _pad_rows(t: torch.Tensor, b: int, value, dim: int = 1) -> torch.Tensor:
    """``t`` with ``dim`` padded to length ``b`` by ``value``."""
    shape = list(t.shape)
    shape[dim] = b - shape[dim]
    return torch.cat([t, torch.full(shape, value, dtype=t.dtype, device=t.device)], dim=dim)


# ----------------------------------------------------------------------------------------------------------------
# The LightningModule
# ----------------------------------------------------------------------------------------------------------------
class BatchedProbes(L.LightningModule):
    """All probes of one fit as one LightningModule (manual optimisation; see the module docstring).

    One :class:`HeadBank` per head shape (linear; MLP of a hidden width), holding every learning rate, dropout, input
    and seed of that shape, ordered by (lr, dropout, input, seed): one batched matmul per layer of the head, and
    contiguous learning-rate runs for :class:`ProbeAdamW`. Each step gathers the batch rows once for every (input,
    seed); a bank whose probes all read one (input, seed) uses it as a stride-0 view, others gather their slots.
    Dropout masks are drawn once per step per (seed, width); each rate's scale is computed once and every probe
    takes its row (all ones for a probe without dropout).
    """

    def __init__(self, specs: Sequence[ProbeSpec], in_dim: int, out_dim: int, kind, weight_decay: float,
                 train: Split | Sequence[Split], valid: Split | Sequence[Split],
                 val_metric: Callable | Sequence[Callable], patience: int, tie_break: str,
                 max_rounds: int | Sequence[int]):
        super().__init__()
        from .kinds import get_kind

        if tie_break not in ("loss", "first"):
            raise ValueError(f"tie_break must be 'loss' or 'first', got {tie_break!r}")
        self.automatic_optimization = False
        self.specs = list(specs)
        self.kind, self.weight_decay = get_kind(kind), float(weight_decay)
        self.train_splits, self.valid_splits = _groups(train), _groups(valid)
        self.val_metrics = list(val_metric) if isinstance(val_metric, (list, tuple)) else [val_metric]
        self.n_groups = len(self.train_splits)
        if not (len(self.valid_splits) == len(self.val_metrics) == self.n_groups):
            raise ValueError(f"{self.n_groups} training groups but {len(self.valid_splits)} validation splits and "
                             f"{len(self.val_metrics)} metrics")
        if any(s.group not in range(self.n_groups) for s in specs):
            raise ValueError(f"a probe's group is outside the {self.n_groups} groups given")
        self.patience, self.tie_break = int(patience), tie_break
        self.max_rounds = [int(m) for m in max_rounds] if isinstance(max_rounds, (list, tuple)) else \
            [int(max_rounds)] * self.n_groups   # per group
        self.seeds = sorted({s.seed for s in self.specs})
        self.inputs = sorted({s.input for s in self.specs})
        self.banks = nn.ModuleList()
        self.members: list[list[int]] = []      # per bank: indices into self.specs of its live probes
        for hidden in sorted({s.hidden for s in self.specs}):
            ids = sorted((i for i, s in enumerate(self.specs) if s.hidden == hidden),
                         key=lambda i: (self.specs[i].lr, self.specs[i].dropout, self.specs[i].input,
                                        self.specs[i].seed, i))
            bank = HeadBank(in_dim, out_dim, hidden, len(ids))
            for j, i in enumerate(ids):
                bank.init_probe(j, self.specs[i].seed)
            self.banks.append(bank)
            self.members.append(ids)
        n = len(self.specs)
        self.best_key: list[tuple | None] = [None] * n
        self.best_score = [float("nan")] * n
        self.best_round = [-1] * n
        self.wait = [0] * n
        self.rounds_run = [0] * n
        self.history: list[list] = [[] for _ in range(n)]
        self.val_losses: list[list] = [[] for _ in range(n)]
        self.best_state: list[dict | None] = [None] * n
        self.finished: dict[int, dict] = {}      # spec index → best state of retired probes
        self.__dict__["_meta"] = None            # per-bank index tensors (rebuilt after retirements)

    # -- per-bank index tensors ------------------------------------------------------------------------------------
    def _bank_meta(self) -> list[dict]:
        """Per bank: ``slots`` ((live group pos * U + input_pos) * S + seed_pos per probe, or None when all probes
        share one slot, given as ``slot``), ``seed_idx`` (live group pos * S + seed_pos: the probe's row of the step's
        targets; None with one live group and one seed), ``drop_idx`` (row of the dropout table per probe, None when
        no probe drops). Only the groups that still have live probes are gathered (:meth:`live_groups`)."""
        if self.__dict__["_meta"] is None:
            live = sorted({self.specs[i].group for ids in self.members for i in ids})
            self.__dict__["_live"] = live
            pos = {g: j for j, g in enumerate(live)}
            n_s, n_u, n_gs = len(self.seeds), len(self.inputs), len(live) * len(self.seeds)
            out = []
            for k, ids in enumerate(self.members):
                sp = [self.specs[i] for i in ids]
                slots = [(pos[s.group] * n_u + self.inputs.index(s.input)) * n_s + self.seeds.index(s.seed)
                         for s in sp]
                seeds = [pos[s.group] * n_s + self.seeds.index(s.seed) for s in sp]
                rates = self._rates[k]
                drop = [(0 if s.dropout <= 0 else 1 + rates.index(s.dropout)) * n_gs + seeds[j]
                        for j, s in enumerate(sp)]
                t = lambda v: torch.tensor(v, dtype=torch.long, device=self.device)  # noqa: E731
                table = [0.0] + list(rates)   # the dropout table's rates (0 first: keeps everything)
                out.append({"thr": torch.tensor([dropout_threshold(r) for r in table], dtype=torch.int16,
                                                device=self.device)[:, None, None, None],
                            "scale": torch.tensor([1.0 / (1.0 - applied_dropout(r)) for r in table],
                                                  device=self.device)[:, None, None, None],
                            "slot": slots[0] if len(set(slots)) == 1 else None,
                            "slots": None if len(set(slots)) <= 1 else t(slots),
                            "seed_idx": None if n_gs == 1 else t(seeds),
                            "drop_idx": None if not any(s.dropout > 0 for s in sp) else t(drop),
                            "inputs": sorted(set(s.input for s in sp))})
            self.__dict__["_meta"] = out
        return self.__dict__["_meta"]

    def live_groups(self) -> list[int]:
        """The groups that still have live probes, in order (a group whose probes all stopped is no longer
        gathered; its batches are still drawn, so nothing else changes)."""
        self._bank_meta()
        return self.__dict__["_live"]

    def on_fit_start(self) -> None:
        dev = self.device
        self.__dict__["_meta"] = None
        self._input_index = torch.tensor(self.inputs, dtype=torch.long, device=dev)
        self._rates = [sorted({self.specs[i].dropout for i in ids if self.specs[i].dropout > 0})
                       for ids in self.members]
        widths = {bank.drop_dim for bank, r in zip(self.banks, self._rates) if r}
        # per (group, seed), in that order: each group draws its masks as it would in a fit of its own
        self._drop_gens = {w: [torch.Generator(device=dev).manual_seed(derive_seed(s, f"dropout-{w}"))
                               for _ in range(self.n_groups) for s in self.seeds] for w in sorted(widths)}

    def _scales(self, cache: dict, k: int, sizes: list[int]) -> torch.Tensor | None:
        """Dropout scale ``(P, b, W)`` of bank ``k`` for this step (``sizes``: each live group's batch rows, ``b``
        their maximum): per probe, ``1 / (1 - q)`` where its seed's 16-bit draw keeps the element and 0 where it drops it
        (:func:`dropout_threshold`), all ones without dropout; None when no probe of the bank drops."""
        meta = self._bank_meta()[k]
        if meta["drop_idx"] is None:
            return None
        w = self.banks[k].drop_dim
        b = max(sizes)
        if w not in cache:
            n_s, gens = len(self.seeds), self._drop_gens[w]
            draws = [uniform16(sizes[j], w, gens[g * n_s + s]) for j, g in enumerate(self.live_groups())
                     for s in range(n_s)]
            draws = [d if d.shape[0] == b else _pad_rows(d, b, 0, dim=0) for d in draws]
            cache[w] = draws[0][None] if len(draws) == 1 else torch.stack(draws)            # (G·S, b, W) int16
        key = (w, tuple(self._rates[k]))
        if key not in cache:   # per rate (0 first: keeps everything) and draw: the scale, or 0 where it drops
            table = torch.where(cache[w][None] >= meta["thr"], meta["scale"], 0.0)
            cache[key] = table.reshape(-1, b, w)                               # ((1 + R) * G·S, b, W)
        return cache[key].index_select(0, meta["drop_idx"])

    # -- training ----------------------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        with add_step(self.device):   # counted (and profiled when asked) by probes.flops.count_flops
            self._step(batch)

    def _step(self, batch) -> None:
        opt = self.optimizers()
        live = self.live_groups()
        if not live:
            return
        groups = batch if isinstance(batch, list) else [batch]
        idxs = [groups[g].to(self.device, non_blocking=True) for g in live]
        sizes = [int(t.shape[1]) for t in idxs]                         # each live group's rows this step
        b = max(sizes)
        xs, ys = [], []
        for g, idx in zip(live, idxs):                                  # (S, b_g) rows of each live group
            split = self.train_splits[g]
            x = split.x[self._input_index[:, None, None], idx[None]]    # (U, S, b_g, D): the one gather per group
            y = split.y[idx]                                            # (S, b_g[, K])
            if idx.shape[1] < b:    # a group at the end of a shorter epoch: padding rows, masked out of the loss
                x, y = _pad_rows(x, b, 0, dim=2), _pad_rows(y, b, -1 if not y.is_floating_point() else 0)
            xs.append(x)
            ys.append(y)
        x_step = (xs[0] if len(xs) == 1 else torch.cat(xs)).reshape(-1, b, xs[0].shape[-1])   # (G·U·S, b, D)
        y_step = ys[0] if len(ys) == 1 else torch.cat(ys)                                     # (G·S, b[, K])
        rows = None
        if min(sizes) < b:
            n_real = torch.tensor(sizes, device=self.device).repeat_interleave(len(self.seeds))
            rows = torch.arange(b, device=self.device)[None] < n_real[:, None]               # (G·S, b)
        cache: dict = {}
        total = None
        for k, bank in enumerate(self.banks):
            if bank.n == 0:
                continue
            meta = self._bank_meta()[k]
            # one copy per bank (a stride-0 batch slows the weight-gradient matmul)
            slot = meta["slot"]
            x = x_step.index_select(0, meta["slots"]) if slot is None else x_step[slot:slot + 1] if bank.n == 1 \
                else x_step[slot].expand(bank.n, b, -1).contiguous()
            logits = bank(x, self._scales(cache, k, sizes))
            add_flops("train", bank, b)
            y = y_step if meta["seed_idx"] is None else y_step.index_select(0, meta["seed_idx"])
            mask = None if rows is None else rows.expand(bank.n, b) if meta["seed_idx"] is None else \
                rows.index_select(0, meta["seed_idx"])
            loss = self.kind.loss(logits, y, mask).sum()      # Σ over probes of each probe's mean loss
            total = loss if total is None else total + loss
        if total is None:
            return
        opt.zero_grad(set_to_none=True)
        self.manual_backward(total)
        opt.step()

    def configure_optimizers(self):
        return ProbeAdamW([{"params": list(bank.parameters()), "lrs": [self.specs[i].lr for i in ids]}
                           for bank, ids in zip(self.banks, self.members)], weight_decay=self.weight_decay)

    # -- validation --------------------------------------------------------------------------------------------
    def validation_step(self, batch, batch_idx):
        orders, scores, losses = [], [], []
        for g, (split, metric) in enumerate(zip(self.valid_splits, self.val_metrics)):   # each group on its own
            probs, loss, order = self.score_split(split, group=g)
            if order:
                orders += order
                scores.append(np.asarray(metric(probs), dtype=np.float64).reshape(-1))
                losses.append(loss.cpu().numpy())
        if orders:   # one update for all groups: retirement reorders the banks
            self._update(orders, np.concatenate(scores), np.concatenate(losses))

    @torch.no_grad()
    def score_split(self, split: Split, group: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """Probabilities ``(P_live, N, K)`` (float32, device) and mean losses ``(P_live,)`` of every live probe of
        ``group`` on ``split`` (no dropout; chunks of :data:`EVAL_ROWS` rows, one batched matmul per input), and the
        spec index of each probe row."""
        outs, losses, order = [], [], []
        n = split.n_rows
        for k, bank in enumerate(self.banks):
            if bank.n == 0:
                continue
            ids = self.members[k]
            mine = [j for j, i in enumerate(ids) if self.specs[i].group == group]   # bank rows of this group
            if not mine:
                continue
            probs = torch.empty(len(mine), n, bank.out_dim, device=self.device)
            per_probe = torch.zeros(len(mine), dtype=torch.float64, device=self.device)
            inputs = [self.specs[ids[j]].input for j in mine]
            for u in sorted(set(inputs)):
                pos = [q for q, v in enumerate(inputs) if v == u]       # rows of probs
                sel = [mine[q] for q in pos]                            # rows of the bank
                sub = bank if len(sel) == bank.n else SubBank(bank, torch.tensor(sel, device=self.device))
                for start in range(0, n, EVAL_ROWS):
                    x = split.x[u, start:start + EVAL_ROWS]
                    logits = sub(x.expand(len(sel), *x.shape))
                    add_flops("eval", bank, x.shape[0], len(sel))
                    y = split.y[start:start + EVAL_ROWS][None]
                    loss = self.kind.loss(logits, y).to(torch.float64) * logits.shape[1]
                    p = self.kind.activation(logits)
                    if len(pos) == len(mine):
                        per_probe += loss
                        probs[:, start:start + EVAL_ROWS] = p
                    else:
                        per_probe[pos] += loss
                        probs[pos, start:start + EVAL_ROWS] = p
            outs.append(probs)
            losses.append(per_probe / max(n, 1))
            order += [ids[j] for j in mine]
        if not outs:
            return torch.zeros(0), torch.zeros(0), []
        return torch.cat(outs), torch.cat(losses), order

    def _update(self, order: list[int], scores: np.ndarray, losses: np.ndarray) -> None:
        """Early-stopping bookkeeping of one validation (see the module docstring); retires stopped probes."""
        rnd = int(self.current_epoch)
        stopped = set()
        for j, i in enumerate(order):
            score, loss = float(scores[j]), float(losses[j])
            self.history[i].append((rnd, score))
            self.val_losses[i].append(loss)
            self.rounds_run[i] = rnd + 1
            key = (nan_low(score), -nan_high(loss) if self.tie_break == "loss" else 0.0)
            if self.best_key[i] is None or key > self.best_key[i]:
                self.best_key[i], self.best_score[i], self.best_round[i], self.wait[i] = key, score, rnd, 0
                self.best_state[i] = self._state_of(i)
            else:
                self.wait[i] += 1
                if self.wait[i] >= self.patience:
                    stopped.add(i)
        stopped |= {i for i in order if rnd + 1 >= self.max_rounds[self.specs[i].group]}
        if stopped:
            self._retire(stopped)
        if all(len(m) == 0 for m in self.members):
            self.trainer.should_stop = True

    def _state_of(self, i: int) -> dict:
        for k, ids in enumerate(self.members):
            if i in ids:
                return self.banks[k].probe_state(ids.index(i))
        raise KeyError(i)

    def _retire(self, stopped: set[int]) -> None:
        opt = self.optimizers().optimizer if self._trainer is not None else None
        for k, ids in enumerate(self.members):
            gone = [i for i in ids if i in stopped]
            if not gone:
                continue
            for i in gone:
                self.finished[i] = {kk: v.to("cpu") for kk, v in self.best_state[i].items()}
                self.best_state[i] = None
            keep = [j for j, i in enumerate(ids) if i not in stopped]
            idx = torch.tensor(keep, dtype=torch.long)
            self.banks[k].keep(idx)
            self.members[k] = [ids[j] for j in keep]
            if opt is not None:
                opt.keep_group(k, idx, [self.specs[i].lr for i in self.members[k]])
        self.__dict__["_meta"] = None

    def outcomes(self) -> list[ProbeOutcome]:
        live = {i for ids in self.members for i in ids if self.best_state[i] is not None}
        if live:
            self._retire(live)
        return [ProbeOutcome(spec=s, state=self.finished.get(i) or {}, val_score=self.best_score[i],
                             best_round=self.best_round[i], rounds_run=self.rounds_run[i],
                             history=list(self.history[i]), val_losses=list(self.val_losses[i]))
                for i, s in enumerate(self.specs)]


# ----------------------------------------------------------------------------------------------------------------
# Fitting
# ----------------------------------------------------------------------------------------------------------------
_QUIET_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric")
_QUIET_WARNINGS = (r".*does not have many workers.*", r".*smaller than the logging interval.*",
                   r".*GPU available but not used.*", r".*Tensor Cores.*", r".*LeafSpec.*",
                   r".*IterableDataset.*has `__len__`.*", r".*Total length of .* across ranks.*",
                   r".*`training_step` returned `None`.*", r".*on_fit_start.*")


@contextlib.contextmanager
def quiet(num_threads: int | None = None):
    """Silence Lightning's info logs and performance hints; set torch's intra-op threads to ``num_threads`` (None:
    unchanged); afterwards restore the thread count and torch's determinism / cudnn flags."""
    levels = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    det, det_warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    bench = torch.backends.cudnn.benchmark
    threads = torch.get_num_threads()
    try:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        if num_threads is not None and num_threads != threads:
            torch.set_num_threads(int(num_threads))
        with warnings.catch_warnings():
            for msg in _QUIET_WARNINGS:
                warnings.filterwarnings("ignore", message=msg)
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        torch.use_deterministic_algorithms(det, warn_only=det_warn)
        torch.backends.cudnn.benchmark = bench
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def fit_many(specs: Sequence[ProbeSpec], train: Split | Sequence[Split], valid: Split | Sequence[Split], *, kind,
             out_dim: int, val_metric: Callable[[torch.Tensor], np.ndarray] | Sequence[Callable],
             max_epochs: int | Sequence[int] = 100, patience: int = 10,
             batch_size: int = 256, weight_decay: float = 1e-2, val_every: int = 1,
             steps_per_round: int | None = None, tie_break: str = "loss", device: str = "cpu",
             num_threads: int | None = None, max_probes_per_fit: int | None = None) -> list[ProbeOutcome]:
    """Train every probe of ``specs`` (see the module docstring) and return one :class:`ProbeOutcome` each, in order.

    ``kind``: the probe kind (:mod:`probes.kinds`; its loss trains the heads, its activation gives the validation
    probabilities). ``train`` / ``valid``: :class:`Split` tensors (moved to ``device`` here). ``val_metric(probs)``
    maps the validation probabilities of the live probes ``(P, N_valid, K)`` to ``(P,)`` scores (higher is better).
    ``max_epochs`` caps the rounds (one cap per group, or one for all), ``patience`` counts validations without
    improvement. ``max_probes_per_fit``
    splits the probes into several fits (memory bound; each fit trains its share exactly as alone).

    *Groups* (e.g. the folds of a cross-validation): ``train``, ``valid`` and ``val_metric`` may be lists, one entry
    per group, and each probe trains on the rows of its ``spec.group`` and is validated on that group's split with
    its metric — as it would be in a fit of its group alone (its own batches, masks and initial weights). The groups'
    inputs have the same layout ``(U, ·, D)`` and must have equal rounds (steps between validations); in a step where
    a group's batch is shorter (the end of its data epoch) its rows are padded and masked out of its loss.
    """
    specs = list(specs)
    if not specs:
        return []
    accelerator, devices, tdev = torch_device(device)
    train = [Split(t.x.to(tdev), t.y.to(tdev), np.asarray(t.segments)) for t in _groups(train)]
    valid = [Split(v.x.to(tdev), v.y.to(tdev), np.asarray(v.segments)) for v in _groups(valid)]
    scheds = [round_schedule(t.n_rows, batch_size, val_every, steps_per_round) for t in train]
    if len({s["steps_per_round"] for s in scheds}) > 1:
        raise ValueError("groups of one fit must validate after the same number of steps; got "
                         f"{[s['steps_per_round'] for s in scheds]} steps per round")
    sched = scheds[0]
    one = len(train) == 1
    chunk = max_probes_per_fit or len(specs)
    outcomes: list[ProbeOutcome] = []
    for start in range(0, len(specs), chunk):
        part = specs[start:start + chunk]
        module = BatchedProbes(part, train[0].x.shape[2], out_dim, kind, weight_decay, train[0] if one else train,
                               valid[0] if one else valid, val_metric, patience, tie_break, max_epochs)
        batches = _Batches(train[0].n_rows, batch_size, module.seeds, sched["steps_per_round"]) if one else \
            _GroupBatches([t.n_rows for t in train], batch_size, module.seeds, sched["steps_per_round"])
        train_loader = torch.utils.data.DataLoader(batches, batch_size=None, num_workers=0)
        val_loader = torch.utils.data.DataLoader(_OneShot(1), batch_size=None, num_workers=0)
        with quiet(num_threads if tdev.type == "cpu" else None):
            trainer = L.Trainer(accelerator=accelerator, devices=devices, max_epochs=max(_groups(max_epochs)),
                                logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                                num_sanity_val_steps=0, check_val_every_n_epoch=1, deterministic=True)
            trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader)
        outcomes += module.outcomes()
    return outcomes

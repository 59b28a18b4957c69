"""The training loop shared by every model: Adam, cosine learning rate, QAT, best-on-validation
checkpoints and a log line per epoch. Models supply ``nll_bits(batch) -> (N,)``."""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch


@dataclass
class TrainConfig:
    epochs: int = 50          # passes over the training set
    batch: int = 100          # examples per step
    lr: float = 1e-3          # peak Adam learning rate (cosine decay to lr/100)
    weight_decay: float = 0.0 # AdamW weight decay
    seed: int = 0             # seed of shuffling and initialisation
    threads: int = 2          # torch CPU threads


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: torch.Tensor, batch: int = 1000) -> float:
    """Mean NLL in bits per example over ``data``."""
    model.eval()
    total = sum(float(model.nll_bits(data[i:i + batch]).sum()) for i in range(0, len(data), batch))
    return total / len(data)


def train(model: torch.nn.Module, train_x: torch.Tensor, val_x: torch.Tensor, cfg: TrainConfig,
          out_dir: Path, save: Callable[[torch.nn.Module, dict, Path], None]) -> dict:
    """Train ``model``; calls ``save(model, info, path)`` whenever validation NLL improves.

    Returns the best epoch's info dict (also written to ``out_dir/best.json``).
    """
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    out_dir.mkdir(parents=True, exist_ok=True)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(train_x) / cfg.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(s / steps, 1.0))))
    g = torch.Generator().manual_seed(cfg.seed)
    best: dict = {"val_bits": float("inf")}
    log = open(out_dir / "log.jsonl", "a")
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(train_x), generator=g)
        run = 0.0
        for k in range(0, len(train_x), cfg.batch):
            xb = train_x[perm[k:k + cfg.batch]]
            loss = model.nll_bits(xb).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            run += loss.item() * len(xb)
        info = {"epoch": epoch, "train_bits": run / len(train_x),
                "val_bits": evaluate(model, val_x), "seconds": time.time() - t0}
        print(json.dumps(info), flush=True)
        log.write(json.dumps(info) + "\n")
        log.flush()
        if info["val_bits"] < best["val_bits"]:
            best = info
            save(model, info, out_dir / "best.safetensors")
            (out_dir / "best.json").write_text(json.dumps(best, indent=1))
    return best

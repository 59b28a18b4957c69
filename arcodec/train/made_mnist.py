"""Recipe of the shipped ``made-mnist`` model: MADE on binarised MNIST (train split only).

    python -m arcodec.train.made_mnist train  --data-dir DATA --out runs/made [--epochs N]
    python -m arcodec.train.made_mnist export --data-dir DATA --run runs/made --out made-mnist.safetensors

``train`` holds out the last 5,000 training digits for validation and keeps the best epoch.
``export`` converts the best float checkpoint to the integer model and records the float and
integer NLL on the MNIST test split in the file's metadata.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..models.made import MADE, IntMADE, MADEConfig, to_integer
from ..weights import save_weights
from .data import binarize, mnist
from .loop import TrainConfig, evaluate, train

N_VAL = 5000
MODEL_CODE = 1  # number of made-mnist in .arc headers (never reuse)


def load_split(split: str, data_dir: str | None) -> torch.Tensor:
    """(N, 784) float32 in {0, 1}."""
    return torch.from_numpy(binarize(mnist(split, data_dir)).reshape(-1, 784).astype("float32"))


def save_float(model: MADE, info: dict, path: Path) -> None:
    meta = {"config": json.dumps(asdict(model.cfg)), "info": json.dumps(info)}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path), metadata=meta)


def load_float(path: Path) -> MADE:
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        cfg = MADEConfig(**json.loads(f.metadata()["config"]))
    model = MADE(cfg)
    model.load_state_dict(load_file(str(path)))
    return model.eval()


@torch.no_grad()
def int_nll_bits(imodel: IntMADE, x: torch.Tensor, batch: int = 500) -> float:
    """Mean -log2 of the integer model's frequencies of the data, bits per image."""
    total = 0.0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch].to(torch.int64)
        f = imodel.freqs(xb)
        p = torch.gather(f, 2, xb[..., None])[..., 0].double()
        total += float((imodel.cfg.freq_bits - torch.log2(p)).sum())
    return total / len(x)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m arcodec.train.made_mnist")
    ap.add_argument("command", choices=["train", "export"])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--run", default=None, help="training run folder (export)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--hidden", type=int, nargs="+", default=[1024, 1024])
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--register", action="store_true",
                    help="export: record the file's sha256 in the registry beside it")
    a = ap.parse_args(argv)
    if a.command == "train":
        x = load_split("train", a.data_dir)
        model = MADE(MADEConfig(hidden=a.hidden))
        cfg = TrainConfig(epochs=a.epochs, lr=a.lr, threads=a.threads)
        best = train(model, x[:-N_VAL], x[-N_VAL:], cfg, Path(a.out), save_float)
        print("best", json.dumps(best))
    else:
        torch.set_num_threads(a.threads)
        model = load_float(Path(a.run) / "best.safetensors")
        test = load_split("t10k", a.data_dir)
        tensors = to_integer(model)
        imodel = IntMADE(model.cfg, tensors)
        float_bits = evaluate(model, test)
        int_bits = int_nll_bits(imodel, test)
        info = json.loads((Path(a.run) / "best.json").read_text())
        meta = {"name": "made-mnist", "arch": "made", "domain": "binary image 28x28",
                "train_data": "MNIST train split, first 55,000 (last 5,000 validation), pixel>=128",
                "recipe": "python -m arcodec.train.made_mnist train (best epoch "
                          f"{info['epoch']}); export --register",
                "val_bits_float": f"{info['val_bits']:.3f}",
                "test_bits_float": f"{float_bits:.3f}", "test_bits_int": f"{int_bits:.3f}",
                "test_bits_per_dim": f"{int_bits / 784:.4f}"}
        retired = save_weights(Path(a.out), "made", asdict(model.cfg), tensors, meta,
                               MODEL_CODE if a.register else None)
        print(json.dumps(meta, indent=1))
        if retired:
            print(f"the weights it replaces stay in the registry as {retired}")


if __name__ == "__main__":
    main()

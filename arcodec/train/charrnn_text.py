"""Recipe of the shipped ``charrnn-text`` model: a byte LSTM on the data dir's ``text-train/``.

    python -m arcodec.train.charrnn_text train  --data-dir DATA --out runs/charrnn --minutes 60
    python -m arcodec.train.charrnn_text train  --data-dir DATA --out runs/charrnn --resume \\
           --qat --minutes 10                  # quantisation-aware fine-tuning
    python -m arcodec.train.charrnn_text export --data-dir DATA --run runs/charrnn \\
           --out arcodec/weights/charrnn-text.safetensors --register

``--init MODEL`` starts from a model's weights (a shipped name or a .safetensors file) instead
of from scratch, to train a shipped model further or to fine-tune it on your own text;
``--start-step K`` goes on with the step count and corpus position of the run that made it.

Training is stateful truncated back-propagation: the corpus is cut into ``batch`` contiguous
streams and the LSTM state is carried from one window to the next, as in coding. The last 0.5%
of every training file is held out for validation. Never trains on the test texts
(Canterbury corpus, bible.txt, world192.txt).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..models.charrnn import CharRNN, CharRNNConfig, IntCharRNN, to_integer
from ..weights import save_weights
from .data import data_dir

MODEL_CODE = 2      # number of charrnn-text in .arc headers (never reuse)
VAL_FRACTION = 0.005


def corpus(root: str | None, files: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train bytes, validation bytes): of ``files`` (folders are searched) when given, else of
    the data dir's text-train/ (without its PROVENANCE.md and SHA256SUMS); files in sorted order."""
    if files:
        found = sorted({q for f in map(Path, files)
                        for q in ([f] if f.is_file() else f.rglob("*")) if q.is_file()})
    else:
        found = sorted(p for p in (data_dir(root) / "text-train").rglob("*")
                       if p.is_file() and p.name not in ("PROVENANCE.md", "SHA256SUMS"))
    if not found:
        raise FileNotFoundError("no training files found")
    files = found
    tr, va = [], []
    for p in files:
        b = np.frombuffer(p.read_bytes(), dtype=np.uint8)
        k = len(b) - max(1, int(len(b) * VAL_FRACTION))
        tr.append(b[:k])
        va.append(b[k:])
    return np.concatenate(tr), np.concatenate(va)


def save_float(model: CharRNN, info: dict, path: Path) -> None:
    meta = {"config": json.dumps(asdict(model.cfg)), "info": json.dumps(info)}
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp),
              metadata=meta)
    tmp.replace(path)


def load_float(path: Path) -> tuple[CharRNN, dict]:
    with safe_open(str(path), "pt") as f:
        md = f.metadata()
    model = CharRNN(CharRNNConfig(**json.loads(md["config"])))
    model.load_state_dict(load_file(str(path)))
    return model, json.loads(md["info"])


@torch.no_grad()
def val_bits_per_byte(model: CharRNN, val: np.ndarray, mode: str = "fast",
                      streams: int = 16, limit: int = 200_000) -> float:
    """Float model's bits per byte on (up to ``limit`` bytes of) validation text."""
    model.eval()
    v = torch.from_numpy(val[:limit].astype(np.int64)).to(next(model.parameters()).device)
    streams = max(1, min(streams, len(v) // 256))
    if len(v) < 2 * streams:
        return float("nan")
    n = len(v) // streams
    x = v[:n * streams].view(streams, n)
    bits = model.nll_bits(x, mode).sum()
    return float(bits) / (streams * (n - 1))


def train(a) -> None:
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tr, va = corpus(a.data_dir, a.files)
    if len(tr) < a.batch * (a.bptt + 2):
        raise SystemExit(f"too little training data ({len(tr)} bytes) for --batch {a.batch}")
    init_label = None                                  # provenance of --init weights
    if a.resume:
        model, info = load_float(out / "last.safetensors")
        step0, init_label = info["step"], info.get("init")
    elif a.init:
        (model, init_label), step0 = init_model(a.init, a.embed), a.start_step
    else:
        model, step0 = CharRNN(CharRNNConfig(hidden=a.hidden, embed=a.embed)), 0
    mode = "qat" if a.qat else "fast"
    dev = torch.device(a.device)
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    n = len(tr) // a.batch
    streams = torch.from_numpy(tr[:n * a.batch].astype(np.int64)).view(a.batch, n).to(dev)
    total_s = a.minutes * 60
    t_start = time.time()
    pos = (step0 * a.bptt) % (n - a.bptt - 1)
    state = None
    step = step0
    log = open(out / "log.jsonl", "a")
    best = float("inf")
    while True:
        frac = (time.time() - t_start) / total_s
        if frac >= 1:
            break
        for g in opt.param_groups:  # cosine decay over the time budget
            g["lr"] = a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        if pos + a.bptt + 1 >= n:
            pos, state = 0, None
        x = streams[:, pos:pos + a.bptt + 1]
        model.train()
        if mode == "fast" or a.qat_carry:     # state carried from window to window
            logits, state = model.run(x[:, :-1], mode, state)
            state = tuple(s.detach() for s in state)
            nats = torch.nn.functional.cross_entropy(logits.reshape(-1, 256), x[:, 1:].reshape(-1))
        else:                                 # each window from the zero state
            nats = model.nll_bits(x, "qat").mean() * math.log(2) / a.bptt
        opt.zero_grad(set_to_none=True)
        nats.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        pos += a.bptt
        step += 1
        if step % a.eval_every == 0:
            vb = val_bits_per_byte(model, va, mode, limit=a.eval_bytes)
            info = {"step": step, "train_bits_per_byte": nats.item() / math.log(2),
                    **({"init": init_label} if init_label else {}), "val_bits_per_byte": vb,
                    "minutes": (time.time() - t_start) / 60,
                    "mode": mode, "bytes_seen": step * a.batch * a.bptt}
            print(json.dumps(info), flush=True)
            log.write(json.dumps(info) + "\n")
            log.flush()
            save_float(model, info, out / "last.safetensors")
            if vb < best:
                best = vb
                save_float(model, info, out / "best.safetensors")
    info = {"step": step, "val_bits_per_byte": val_bits_per_byte(model, va, mode, limit=a.eval_bytes),
            "mode": mode, **({"init": init_label} if init_label else {})}
    save_float(model, info, out / "last.safetensors")
    if info["val_bits_per_byte"] < best:
        save_float(model, info, out / "best.safetensors")
    print("done", json.dumps(info), flush=True)


@torch.no_grad()
def init_model(spec: str, embed: int) -> tuple[CharRNN, str]:
    """The float32 CharRNN of a model's weights (registry name or path) to train further, and
    where it came from ("NAME (weights HASH8)", recorded in the checkpoints and the export).

    A weight file keeps only the (256, 4H) gate table of the input path (embedding, input
    weights and biases folded together); its float twin (``to_float``) has a 256-wide identity
    embedding, which would make every training step's input product 4x wider. So the table T
    is factored again: biases b = the mean row of T, embedding (256, embed) and input weights
    (4H, embed) from the rank-``embed`` SVD of T - b (both scaled by the root of the singular
    values). A table that an ``embed``-wide model made has rank <= embed after removing b, so
    this loses only the integer rounding."""
    from .. import zoo
    from ..models import build_float_model
    info = zoo.resolve(spec)
    lm = zoo.load(info)
    if lm.arch != "charrnn":
        raise SystemExit(f"--init {spec}: a {lm.arch} model, not a charrnn")
    twin = build_float_model(lm.arch, lm.config, lm.tensors)          # float64, embed 256
    table = twin.lstm.weight_ih_l0.T                                  # (256, 4H)
    bias = table.mean(0)
    u, s, vh = torch.linalg.svd(table - bias, full_matrices=False)
    root = s[:embed].sqrt()
    model = CharRNN(CharRNNConfig(**{**lm.config, "embed": embed})).double()
    model.emb.weight.copy_(u[:, :embed] * root)
    model.lstm.weight_ih_l0.copy_(vh[:embed].T * root)
    model.lstm.bias_ih_l0.copy_(bias)
    model.lstm.bias_hh_l0.zero_()
    model.lstm.weight_hh_l0.copy_(twin.lstm.weight_hh_l0)
    model.out.load_state_dict(twin.out.state_dict())
    return model.float().train(), f"{spec} (weights {info.sha256[:8]})"


@torch.no_grad()
def int_bits_per_byte(im: IntCharRNN, data: np.ndarray, streams: int = 16) -> float:
    """Integer model: mean -log2 p of bytes 1.. of each of ``streams`` equal slices."""
    v = torch.from_numpy(data.astype(np.int64))
    streams = max(1, min(streams, len(v) // 256))
    if len(v) < 2 * streams:
        return float("nan")
    n = len(v) // streams
    x = v[:n * streams].view(streams, n)
    st = im.init_state(streams)
    total = 0.0
    for k in range(n - 1):
        st = im.step(st, x[:, k])
        f = im.freqs(st)
        p = f.gather(1, x[:, k + 1:k + 2]).double()
        total += float((im.cfg.freq_bits - torch.log2(p)).sum())
    return total / (streams * (n - 1))


def export(a) -> None:
    torch.set_num_threads(a.threads)
    model, info = load_float(Path(a.run) / a.checkpoint)
    model.eval()
    _, va = corpus(a.data_dir, a.files)
    sample = va[:a.eval_bytes]
    tensors = to_integer(model)
    im = IntCharRNN(model.cfg, tensors)
    fb = val_bits_per_byte(model, sample, limit=len(sample))
    qb = val_bits_per_byte(model, sample, "qat", limit=len(sample))
    ib = int_bits_per_byte(im, sample)
    meta = {"name": a.name, "arch": "charrnn", "domain": "bytes (text, any file)",
            "train_data": (f"{len(a.files)} user path(s)" if a.files else
                           "text-train/ (books, wiki, code, markup, misc)") +
                          ", last 0.5% of each file held out", "recipe": f"python -m arcodec.train.charrnn_text train "
                          f"(step {info['step']}, mode {info['mode']}); export --register",
            "val_bits_per_byte_float": f"{fb:.4f}", "val_bits_per_byte_qat": f"{qb:.4f}",
            "val_bits_per_byte_int": f"{ib:.4f}", "test_bits_per_dim": f"{ib:.4f}",
            "val_bytes": str(len(sample)), **({"init": info["init"]} if "init" in info else {})}
    retired = save_weights(Path(a.out), "charrnn", asdict(model.cfg), tensors, meta,
                           MODEL_CODE if a.register else None)
    print(json.dumps(meta, indent=1))
    if retired:
        print(f"the weights it replaces stay in the registry as {retired}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m arcodec.train.charrnn_text")
    ap.add_argument("command", choices=["train", "export"])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--run", default=None)
    ap.add_argument("--checkpoint", default="best.safetensors")
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--embed", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--bptt", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-bytes", type=int, default=50_000,
                    help="validation bytes for every evaluation (training, QAT, export): one sample")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="torch device for training: cpu, cuda")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", default=None, help="start from this model's weights (registry "
                    "name or .safetensors path)")
    ap.add_argument("--start-step", type=int, default=0,
                    help="with --init: go on with the step count and corpus position of the "
                         "run that made it")
    ap.add_argument("--qat", action="store_true", help="train with the quantisation-aware cell")
    ap.add_argument("--qat-carry", action="store_true",
                    help="QAT carries the state across windows like float training (the shipped "
                         "CPU model was tuned without: each window from the zero state)")
    ap.add_argument("--register", action="store_true")
    ap.add_argument("--files", nargs="+", default=None,
                    help="train on these files/folders instead of the data dir's text-train/")
    ap.add_argument("--name", default="charrnn-text", help="model name stored in the file")
    a = ap.parse_args(argv)
    train(a) if a.command == "train" else export(a)


if __name__ == "__main__":
    main()

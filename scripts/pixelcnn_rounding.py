"""What each rounding of a PixelCNN's QAT grid costs: bits per sub-pixel with every rounding,
with one kind turned off at a time, and inside the gate with its parts off or on finer steps.

    PYTHONPATH=. python scripts/pixelcnn_rounding.py [--model pixelcnn-mnist.v2] [--n 2000]
    PYTHONPATH=. python scripts/pixelcnn_rounding.py --model pixelcnn-photo --data-dir DIR

Data: the mnist recipe's validation digits, or for a photo model the photo recipe's held-out
crops of ``photos-train/`` (training split, never a test set), also reported on their
smoother half (the crops of lowest float NLL, the kind of content where Kodak's images
spend most of their pixels). Kinds of rounding: ``weights``, ``gate``, ``h`` (the h stream),
``skip`` (skip sum and head hidden layer), ``logits`` (1/64 nat) and, for the Laplace head,
``laplace`` (its mean, log-rate, rate and the distance term). Last, the same float network on
finer grids (config fields ``g_max``, ``s_one``, ``z_one``), before any training on them.

float64 on the CPU; about 2.5 minutes per line for 2,000 digits on 2 cores, 10 minutes in all
for 128 photo crops. The README's figures for pixelcnn-mnist.v2 (1/32 grid; its "hs" line is
today's h and skip together) and pixelcnn-photo.v2 (``--n 128``) come from it.
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import torch

import arcodec
from arcodec.models import pixelcnn as P
from arcodec.train.pixelcnn import Sampler
from arcodec.train.pixelcnn_export import int_nll_bits_per_dim
from benchmarks.nll_gap import float_model

OFF: set[str] = set()             # roundings turned off (kinds in the docstring)
GATE = dict(z=None, lut=P.LUT_Q, g=None)   # z, g: None = the model's own step, 0 = unrounded
_q, _fq, _ste = P._q, P.fq_rows, P.ste


def kind(one: float, lo: float, hi: float) -> str:
    """The kind of a ``_q`` call, told apart by its unit and bounds."""
    if one == P.LOGIT_ONE:
        return "logits"
    if one == P.MU_ONE or (one == P.T_ONE and (lo, hi) == (-P.T_OFF, P.T_N - 1 - P.T_OFF)):
        return "laplace"
    return "h" if one == P.H_ONE and hi in (P.A_MAX, 2 * P.A_MAX) else "skip"


INSIDE = [False]                  # True while ``_q`` or ``fq_rows`` runs (they call ``ste``)


def q(v, one, lo, hi, quant):
    INSIDE[0] = True
    try:
        return _q(v, one, lo, hi, quant and kind(one, lo, hi) not in OFF)
    finally:
        INSIDE[0] = False


def fq(ws, units, bits):
    INSIDE[0] = True
    try:
        return ws if "weights" in OFF else _fq(ws, units, bits)
    finally:
        INSIDE[0] = False


def ste(x, xq):
    """``ste`` with the Laplace head's rate and distance roundings (its direct calls, the
    only ones from outside ``_q`` and ``fq_rows`` once ``gate`` is replaced) switchable."""
    return x if "laplace" in OFF and not INSIDE[0] else _ste(x, xq)


def gate(pre, quant, z_one=P.Z_ONE, g_max=P.G_MAX):
    """``gate`` with each of its roundings switchable (0: off) and settable."""
    z = torch.clamp(pre, -P.Z_MAX / P.Z_ONE, P.Z_MAX / P.Z_ONE)
    quant = quant and "gate" not in OFF
    zs = GATE["z"] if GATE["z"] is not None else z_one
    if quant and zs:
        z = torch.round(z * zs) / zs
    a, b = z.chunk(2, dim=1)
    t, s = torch.tanh(a), torch.sigmoid(b)
    if quant and GATE["lut"]:
        one = 2 ** GATE["lut"]
        t, s = torch.round(t * one) / one, torch.round(s * one) / one
    out = t * s
    gs = GATE["g"] if GATE["g"] is not None else g_max
    return torch.round(out * gs) / gs if quant and gs else out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="pixelcnn-mnist")
    ap.add_argument("--n", "--digits", type=int, default=2000, dest="n",
                    help="validation examples (digits or crops) to use")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    fm, im = float_model(arcodec.Session("cpu"), a.model)
    fm = fm.double()
    photo = fm.cfg.channels == 3
    val = Sampler("photo" if photo else "mnist", a.data_dir, 0).val[:a.n]
    P._q, P.fq_rows, P.gate, P.ste = q, fq, gate, ste

    @torch.no_grad()
    def bits(x: torch.Tensor, quant: bool) -> torch.Tensor:
        """(N,) bits per sub-pixel of each example."""
        return torch.cat([fm.nll_bits(x[i:i + 250].double(), quant)
                          for i in range(0, len(x), 250)]) / x[0].numel()

    smooth = bits(val, False).argsort()[:len(val) // 2] if photo else None

    def line(name: str, quant: bool = True) -> None:
        b = bits(val, quant)
        extra = f"   smoother half {float(b[smooth].mean()):.4f}" if photo else ""
        print(f"{name}: {float(b.mean()):.4f}{extra}", flush=True)

    z0 = fm.cfg.z_one
    kinds = ["weights", "gate", "h", "skip", "logits"] + (["laplace"] if fm.cfg.laplace else [])
    print(f"{a.model} (gate step 1/{z0}, output 1/{fm.cfg.g_max}, skip 1/{fm.cfg.s_one}), "
          f"{len(val)} validation "
          f"{'crops' if photo else 'digits'}, bits per sub-pixel", flush=True)
    line("float (no rounding)", False)
    line("QAT grid (every rounding)")
    for off in kinds:
        OFF.clear()
        OFF.add(off)
        line(f"all but the {off} rounding")
    OFF.clear()
    g0 = fm.cfg.g_max
    for name, z, lut, g in [("gate step unrounded", 0, P.LUT_Q, None),
                            ("gate tables unrounded", None, 0, None),
                            ("gate output unrounded", None, P.LUT_Q, 0),
                            (f"gate step 1/{2 * z0}", 2 * z0, P.LUT_Q, None),
                            (f"gate output in 1/{2 * g0 + 1}", None, P.LUT_Q, 2 * g0 + 1)]:
        GATE.update(z=z, lut=lut, g=g)
        line(name)
    GATE.update(z=None, lut=P.LUT_Q, g=None)
    base, net = fm, fm.state_dict()
    for grid in ({"g_max": 255}, {"s_one": 64}, {"g_max": 255, "s_one": 64},
                 {"g_max": 255, "s_one": 64, "z_one": 2 * z0}):
        fm = P.PixelCNN(replace(base.cfg, **grid)).double().eval()   # the same float network
        fm.load_state_dict(net)
        line("QAT grid with " + ", ".join(f"{k} {v}" for k, v in grid.items()))
    fm = base
    ib = int_nll_bits_per_dim(im, val, 100)
    print(f"integer model: {ib:.4f}" + (
        f"   smoother half {int_nll_bits_per_dim(im, val[smooth], 100):.4f}" if photo else ""),
        flush=True)


if __name__ == "__main__":
    main()

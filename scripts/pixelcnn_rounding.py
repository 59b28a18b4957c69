"""What each rounding of an 8-bit gray PixelCNN's QAT grid costs, on the mnist recipe's
validation digits (training split, never the test set): bits/dim with every rounding, with one
kind turned off at a time, and inside the gate with its parts off or on finer steps.

    PYTHONPATH=. python scripts/pixelcnn_rounding.py [--model pixelcnn-mnist.v2] [--digits 2000]

float64 on the CPU; about 2.5 minutes per line for 2,000 digits on 2 cores. The README's
figures for pixelcnn-mnist.v2 (1/32 grid) come from it.
"""
from __future__ import annotations

import argparse

import torch

import arcodec
from arcodec.models import pixelcnn as P
from arcodec.train.pixelcnn import Sampler
from arcodec.train.pixelcnn_export import int_nll_bits_per_dim
from benchmarks.nll_gap import float_model

OFF: set[str] = set()             # roundings turned off: weights, gate, hs, logits
GATE = dict(z=None, lut=P.LUT_Q, g=P.G_MAX)   # z: None = the model's own step, 0 = unrounded
_q, _fq = P._q, P.fq_rows


def q(v, one, lo, hi, quant):
    """``_q`` with logits (1/64) or the h stream / skip / head (1/32) roundings switchable."""
    return _q(v, one, lo, hi, quant and ("logits" if one == P.LOGIT_ONE else "hs") not in OFF)


def fq(ws, units, bits):
    return ws if "weights" in OFF else _fq(ws, units, bits)


def gate(pre, quant, z_one=P.Z_ONE):
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
    return torch.round(out * GATE["g"]) / GATE["g"] if quant and GATE["g"] else out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="pixelcnn-mnist")
    ap.add_argument("--digits", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    fm, im = float_model(arcodec.Session("cpu"), a.model)
    fm = fm.double()
    val = Sampler("mnist", None, 0).val[:a.digits]
    P._q, P.fq_rows, P.gate = q, fq, gate

    @torch.no_grad()
    def bpd(quant: bool) -> float:
        return sum(float(fm.nll_bits(val[i:i + 250].double(), quant).sum())
                   for i in range(0, len(val), 250)) / val.numel()

    z0 = fm.cfg.z_one
    print(f"{a.model} (gate step 1/{z0}), {len(val)} validation digits, bits/dim", flush=True)
    print(f"float (no rounding): {bpd(False):.4f}", flush=True)
    print(f"QAT grid (every rounding): {bpd(True):.4f}", flush=True)
    for off in ("weights", "gate", "hs", "logits"):
        OFF.clear()
        OFF.add(off)
        print(f"all but the {off} rounding: {bpd(True):.4f}", flush=True)
    OFF.clear()
    for name, z, lut, g in [("gate step unrounded", 0, P.LUT_Q, P.G_MAX),
                            ("gate tables unrounded", None, 0, P.G_MAX),
                            ("gate output unrounded", None, P.LUT_Q, 0),
                            (f"gate step 1/{2 * z0}", 2 * z0, P.LUT_Q, P.G_MAX)]:
        GATE.update(z=z, lut=lut, g=g)
        print(f"{name}: {bpd(True):.4f}", flush=True)
    print(f"integer model: {int_nll_bits_per_dim(im, val, 100):.4f}", flush=True)


if __name__ == "__main__":
    main()

"""8-bit gray or colour images, coded by the integer Gated PixelCNN in a wavefront order.

Order. The conditionals of pixel (y, x) depend on the rows above within the receptive field
and on the pixels to its left in row y. Within one row the vertical stack reaches at most
``r_1`` (the first layer's half width) columns to the right (later layers reach right only
in the row above), so row y can run ``s = r_1 + 1`` columns behind row y - 1 and all rows
advance together: at step t, row y is at column ``x = t - s*y``. One step codes one pixel of
every active row, sub-pixel by sub-pixel (R of all active rows, then G, then B: symbol order is
(t, c, y)). A W x H image takes ``W + r_1 + s*(H - 1)`` steps with up to ``(W + r_1) / s``
rows at once. Every pixel sees its whole causal context: no tile borders, no context lost.

Incremental computation (Ramachandran et al. 2017): each step computes only the new position
of every layer. The vertical stacks at (y, x - r_1) become computable once pixel (y, x) is
known; the horizontal stack runs once per sub-pixel at (y, x), computing only that
sub-pixel's channel group of every layer (the groups of earlier sub-pixels are kept: by the
masks they do not depend on later ones). The vertical features live in a
ring of ``s + 4`` columns per row and the horizontal stack keeps one column per row, so memory
beyond the image itself is O(H * s * F * L), whatever the width, and the work per sub-pixel
does not depend on the image size.

The encoder runs exactly the decoder's step loop, so both see the same tables by construction;
``IntPixelCNN.forward_freqs`` (all conditionals at once) is checked against it by the tests.
``batch_rows`` splits the active rows of a step into chunks (a memory/speed knob that does not
change the file).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .. import coding
from ..exact.tables import logits_to_freqs
from ..models.pixelcnn_int import IntPixelCNN


class Wavefront:
    """State of the wavefront over one H x W image (see the module docstring)."""

    def __init__(self, model: IntPixelCNN, h: int, w: int):
        self.m = model
        self.H, self.W = h, w
        self.radii = model.radii
        self.R = [self.radii[0]] * len(self.radii)        # rightward reach in the row: r_1
        self.s = self.R[-1] + 1
        self.Wr = self.s + 4
        r1, c, f, dev = self.radii[0], model.C, model.F, model.device
        self.r1 = r1
        self.q = torch.zeros(c, h + r1, w + 2 * r1, dtype=torch.int16, device=dev)
        # vertical features of layer i: row (y + 1) * Wr + x % Wr of Vf[i] holds v at image
        # (y, x) (a ring of Wr columns per row; rows 0..Wr-1 are the zero row above the image);
        # the last row stays zero and stands in for taps outside the image
        self.Vf = [torch.zeros((h + 1) * self.Wr + 1, f, dtype=torch.int16, device=dev)
                   for _ in self.radii]
        self.zero_row = (h + 1) * self.Wr
        self.Hs = [torch.zeros(h, f, dtype=torch.int16, device=dev) for _ in self.radii]
        self.steps = w + self.R[-1] + self.s * (h - 1) if h and w else 0

    def active(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows active at step t and their columns (may exceed W - 1: virtual columns)."""
        last = self.W - 1 + self.R[-1]
        lo = max(0, -(-(t - last) // self.s))
        hi = min(self.H - 1, t // self.s)
        rows = torch.arange(lo, hi + 1, device=self.m.device)
        return rows, t - self.s * rows

    def fixed(self, rows: torch.Tensor, xs: torch.Tensor) -> list[torch.Tensor]:
        """Per layer, the horizontal-stack terms that stay fixed while pixel (rows, xs) is
        decoded: left taps and link from the row above. [(n, 2F)] per layer: exact products
        in the model's accumulator dtype (``IntPixelCNN.layer_h_fixed``)."""
        m, r1 = self.m, self.r1
        j = torch.arange(r1, device=m.device)
        left = self.q[:, rows[:, None] + r1, xs[:, None] + j]            # (C, n, r1)
        wr = xs % self.Wr
        out = []
        for i in range(len(self.radii)):
            if i:
                left = self.Hs[i - 1][rows]
            out.append(m.layer_h_fixed(i, left.permute(1, 0, 2).flatten(1) if i == 0 else left,
                                       self.Vf[i].index_select(0, rows * self.Wr + wr)))
        return out

    def hpass(self, rows: torch.Tensor, xs: torch.Tensor, fixed: list[torch.Tensor], c: int,
              st: dict) -> torch.Tensor:
        """Horizontal stack at (rows, xs) with sub-pixels < c of the pixel known: channel
        group c of every layer (groups < c were done for the earlier sub-pixels and are kept
        in ``st``: per layer h streams ``h`` and gate outputs ``g``, and the skip sum, each
        (n, F); made at c = 0). Returns the (n, 256) logits of sub-pixel c."""
        m, r1, n = self.m, self.r1, len(rows)
        if c == 0:
            st["h"] = [torch.zeros(n, m.F, dtype=torch.int64, device=m.device)
                       for _ in self.radii]
            st["g"] = [torch.zeros(n, m.F, dtype=torch.int32, device=m.device)
                       for _ in self.radii]
            st["skip"] = torch.zeros(n, m.F, dtype=torch.int64, device=m.device)
        centre = self.q[:, rows + r1, xs + r1].T                         # (n, C)
        for i in range(len(self.radii)):
            m.layer_h_group(i, c, centre if i == 0 else st["h"][i - 1], fixed[i],
                            st["h"][i], st["g"][i], st["skip"])
        nbrs = None
        if m.cfg.laplace:      # q of rows y-1..y, cols x-1..x+1 (the buffer pads r1 >= 1)
            di = torch.arange(2, device=m.device) + r1 - 1
            dj = torch.arange(3, device=m.device) + r1 - 1
            nbrs = self.q[:, (rows[:, None] + di)[:, :, None], (xs[:, None] + dj)[:, None, :]]
            nbrs = nbrs.permute(1, 0, 2, 3).flatten(1)
        return m.head(st["skip"][:, :(c + 1) * (m.F // m.C)], c, nbrs)

    def vpass(self, rows: torch.Tensor, xs: torch.Tensor) -> None:
        """Vertical stacks: every layer at (y, x - r_1) for every active row (pixel (y, x) known)."""
        m, r1, W = self.m, self.r1, self.W
        for i, R in enumerate(self.R):
            x = xs - R
            ok = (x >= 0) & (x < W)
            if not bool(ok.any()):
                continue
            y, x = rows[ok], x[ok]
            if i == 0:
                di = torch.arange(r1 + 1, device=m.device)
                dj = torch.arange(2 * r1 + 1, device=m.device)
                patch = self.q[:, (y[:, None] + di)[:, :, None], (x[:, None] + dj)[:, None, :]]
                patch = patch.permute(1, 0, 2, 3).flatten(1)            # (n, C*kh*kw)
                v = m.layer_v(i, patch)
            else:     # rows y - 1, y of the layer below (Vf rows y, y + 1), columns x - 1..x + 1
                cols = x[:, None] + torch.arange(-1, 2, device=m.device)  # (n, 3)
                flat = (y[:, None, None] + torch.arange(2, device=m.device)[:, None]) * self.Wr \
                    + (cols % self.Wr)[:, None, :]                       # (n, 2, 3)
                flat = torch.where(((cols >= 0) & (cols < W))[:, None, :], flat, self.zero_row)
                patch = self.Vf[i - 1].index_select(0, flat.reshape(-1)).view(len(y), -1)
                v = m.layer_v_hwc(i, patch)                              # (n, 2*3*F) patch
            self.Vf[i].index_copy_(0, (y + 1) * self.Wr + x % self.Wr, v.to(torch.int16))

    def run(self, code: Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
            batch_rows: int | None = None, progress: Callable[[int], None] | None = None):
        """Drive every step. ``code(c, rows, xs, freqs)`` returns the (n,) pixel values of
        sub-pixel c at (rows, xs) after coding them with ``freqs`` (n, 256)."""
        m, W = self.m, self.W
        for t in range(self.steps):
            rows, xs = self.active(t)
            on = xs < W
            cr, cx = rows[on], xs[on]
            n = len(cr)
            step = batch_rows or max(n, 1)
            chunks = [(k, min(n, k + step)) for k in range(0, n, step)]
            states = [{} for _ in chunks]
            fixed = [self.fixed(cr[a:b], cx[a:b]) for a, b in chunks]
            for c in range(m.C):
                for k, (a, b) in enumerate(chunks):
                    logits = self.hpass(cr[a:b], cx[a:b], fixed[k], c, states[k])
                    f = logits_to_freqs(logits, m.cfg.freq_bits)
                    sym = code(c, cr[a:b], cx[a:b], f)
                    self.q[c, cr[a:b] + self.r1, cx[a:b] + self.r1] = (2 * sym - 255).to(
                        torch.int16)
            for k, (a, b) in enumerate(chunks):
                for i, hs in enumerate(states[k]["h"]):
                    self.Hs[i][cr[a:b]] = hs.to(torch.int16)
            self.vpass(rows, xs)
            if progress and n:
                progress(n)


@torch.no_grad()
def encode(model: IntPixelCNN, img: np.ndarray, batch_rows: int | None = None,
           progress: Callable[[int], None] | None = None) -> tuple[bytes, float]:
    """(H, W, C) uint8 -> (payload, integer-model NLL in bits)."""
    h, w, _ = img.shape
    src = torch.from_numpy(np.array(img)).to(model.device)          # uint8, (H, W, C)
    enc = coding.Encoder()
    nll = [0.0]

    def code(c, rows, xs, f):
        sym = src[rows, xs, c].to(torch.int64)
        fn, sn = f.cpu().numpy(), sym.cpu().numpy()
        enc.encode(sn, fn)
        nll[0] += coding.nll_bits(sn, fn)
        return sym

    Wavefront(model, h, w).run(code, batch_rows, progress)
    return enc.finish(), nll[0]


@torch.no_grad()
def decode(model: IntPixelCNN, payload: bytes, h: int, w: int, batch_rows: int | None = None,
           progress: Callable[[int], None] | None = None) -> np.ndarray:
    """payload -> (H, W, C) uint8."""
    dec = coding.Decoder(payload)
    wf = Wavefront(model, h, w)

    def code(c, rows, xs, f):
        return torch.from_numpy(dec.decode(f.cpu().numpy()).astype(np.int64)).to(model.device)

    wf.run(code, batch_rows, progress)
    q = wf.q[:, wf.r1:, wf.r1:wf.r1 + w]
    return ((q + 255) // 2).to(torch.uint8).permute(1, 2, 0).cpu().numpy()

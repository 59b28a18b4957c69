"""Gated PixelCNN (van den Oord et al. 2016): the float training network, with QAT.

Layout, for an image of C channels (1 or 3) and F hidden channels split into C groups:

  x = (2p - 255) / 255                                 (N, C, H, W), p the 8-bit pixel
  v_0 = h_0 = x
  for l = 1..L (half width r_l: r_1 = first_r, later 1):
    v_l   = gate(Vconv_l(v_{l-1}))           rows y-r..y, cols x-r..x+r      (N, F, H, W)
            (layers after the first: row y-1 cols x-1..x+1, row y cols x-1..x only, so the
            stack reaches right by r_1 in the current row and one more column per row above;
            this lets the wavefront coder run each row only r_1 + 1 pixels behind the last)
    g_l   = gate(Hconv_l(h_{l-1}) + Link_l(v_l shifted down one row))
            Hconv: row y, cols x-r..x; the centre tap masked by channel group (A for l = 1:
            group c sees groups < c; B later: groups <= c). No blind spot: the vertical stack
            reaches every row above within its width, the horizontal stack the row to the left.
    h_l   = [h_{l-1} if l > 1] + Res_l(g_l)           (1x1, mask B)
    skip += Skip_l(g_l)                               (1x1, mask B)
  logits = Head2(relu(Head1(relu(skip))))             (1x1 mask B)   (N, C, 256, H, W)
           with ``laplace``: Head2 also gives a mean mu and log-rate t per sub-pixel and
           logits_k = free_k - |k - mu| exp(t): a discrete Laplace around a predicted value
           plus a free correction, which trains far faster than free logits alone; mu also
           gets a linear prediction from the causal neighbours (left, the three above, and
           the pixel's own earlier channels)
  gate(a | b) = tanh(a) * sigmoid(b)

So the logits of sub-pixel (y, x, c) depend on every pixel of the rows above within the
receptive field, the pixels to the left in row y, and channels < c of pixel (y, x): R, then G
given R, then B given R and G.

Quantisation grid (QAT mirrors it; ``pixelcnn_int`` computes on it exactly):
  image q = 2p - 255 (unit 1/255); gate outputs v, g: unit 1/g_max, |q| <= g_max;
  gate pre-activations: 1/z_one steps clamped to [-8, 8] (the LUT index);
  h stream: unit 1/32, |q| <= 127; skip sum and Head1 output: unit 1/s_one, clamped to
  [0, 8) (0 <= q <= s_max = 8 s_one - 1); per layer, skip terms to +-4 s_max;
  ``z_one``, ``g_max`` and ``s_one`` are config fields (``GRID``; defaults 32, 127, 32: the
  models made before they were fields; pixelcnn-mnist v3 has z_one 64, pixelcnn-photo v3
  128, 255, 64);
  logits: 1/64 nat clamped to +-16 nats (Laplace: mu in 1/16 levels, t in 1/32 steps on
  [-5, 3) indexing a Q16 table of exp(t)). Weights: int8 per output row of the *effective*
  weights (weights times the unit of their input), so one product per layer, one rescale.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as Fn

from ..exact.fakequant import ste

U_IMG = 1 / 255     # unit of the image input
G_MAX = 127         # gate outputs: q / 127 (``g_max``'s default)
Z_ONE = 32          # gate pre-activations in 1/32 steps (``z_one``'s default) ...
Z_MAX = 8 * Z_ONE   # ... clamped to [-8, 8]
H_ONE = 32          # h stream in 1/32 units, |q| <= 127
S_ONE = 32          # skip sum / head hidden in 1/32 units (``s_one``'s default)
A_MAX = 127         # |h stream| bound in its units
LUT_Q = 12          # tanh / sigmoid tables in Q12
LOGIT_ONE = 64
LOGIT_MAX = 16 * LOGIT_ONE
MU_ONE = 16                 # Laplace term: mean in 1/16 levels, clamped to [-16, 271] levels
MU_SCALE = 128              # mean = 128 * head output (so O(1) weights reach any level)
MU_MIN, MU_MAX = -16 * MU_ONE, 271 * MU_ONE
T_ONE, T_OFF, T_N = 32, 160, 256   # log-rate t in 1/32 steps: index t*32 + 160 in [0, 255]
BETA_BITS = 16              # rate exp(t) in Q16


GRID = ("z_one", "g_max", "s_one")   # the config fields that set the quantisation grid


@dataclass
class PixelCNNConfig:
    channels: int = 1          # image channels C (1 gray, 3 RGB)
    hidden: int = 48           # F, a multiple of C
    layers: int = 6            # L gated layers
    first_r: int = 2           # half width of the first layer's kernels (later layers: 1)
    laplace: bool = False      # logits = free logits - |k - mu| exp(t) (mu, t per sub-pixel)
    weight_bits: int = 8
    freq_bits: int = 16
    z_one: int = Z_ONE         # gate pre-activations in 1/z_one steps (the tables' index)
    g_max: int = G_MAX         # gate outputs in 1/g_max steps, |q| <= g_max
    s_one: int = S_ONE         # skip sum and head hidden layer in 1/s_one steps, in [0, 8)
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if not (1 <= self.g_max <= 255 and 1 <= self.s_one <= 256 and 1 <= self.z_one <= 256):
            raise ValueError("grid out of range: g_max 1..255, s_one and z_one 1..256")

    @property
    def radii(self) -> list[int]:
        return [self.first_r] + [1] * (self.layers - 1)

    @property
    def s_max(self) -> int:
        """Bound of the skip sum and head hidden layer in their units (8 - 1/s_one)."""
        return 8 * self.s_one - 1


def group_of(n: int, groups: int) -> torch.Tensor:
    """(n,) channel group of each of n channels split into ``groups`` contiguous blocks."""
    return torch.arange(n) * groups // n


def group_mask(n_out: int, n_in: int, groups: int, strict: bool) -> torch.Tensor:
    """(n_out, n_in) 0/1: output group go may see input group gi (gi < go if strict, else <=)."""
    go = group_of(n_out, groups)[:, None]
    gi = group_of(n_in, groups)[None, :]
    return ((gi < go) if strict else (gi <= go)).float()


def _q(v: torch.Tensor, one: float, lo: float, hi: float, quant: bool) -> torch.Tensor:
    v = torch.clamp(v, lo / one, hi / one)
    return ste(v, torch.round(v * one) / one) if quant else v


def fq_rows(ws: list[torch.Tensor], units: list[float], bits: int) -> list[torch.Tensor]:
    """Fake-quantise conv weights that feed one accumulator, jointly per output row.

    ws: (O, I_k, kh, kw) weights on inputs of unit ``units[k]``. The effective weights
    ``w * unit`` share one int8 scale per output row; returns the weights on the grid.
    """
    eff = [w * u for w, u in zip(ws, units)]
    m = torch.stack([e.detach().abs().flatten(1).amax(1) for e in eff]).amax(0)
    qmax = 2 ** (bits - 1) - 1
    s = torch.where(m > 0, m / qmax, torch.ones_like(m))[:, None, None, None]
    return [ste(w, torch.clamp(torch.round(e / s), -qmax, qmax) * s / u)
            for w, e, u in zip(ws, eff, units)]


class GatedLayer(nn.Module):
    """One vertical + horizontal gated layer with residual and skip outputs."""

    def __init__(self, c_in: int, hidden: int, groups: int, r: int, first: bool,
                 cfg: PixelCNNConfig):
        super().__init__()
        f2 = 2 * hidden
        self.r, self.first, self.cfg = r, first, cfg      # cfg: the grid (z_one, g_max, s_one)
        self.v = nn.Conv2d(c_in, f2, (r + 1, 2 * r + 1))
        self.h = nn.Conv2d(c_in, f2, (1, r + 1))
        self.link = nn.Conv2d(hidden, f2, 1, bias=False)
        self.res = nn.Conv2d(hidden, hidden, 1)
        self.skip = nn.Conv2d(hidden, hidden, 1)
        hm = torch.ones(f2, c_in, 1, r + 1)
        gm = group_mask(hidden, c_in, groups, strict=first)
        hm[:, :, 0, r] = torch.cat([gm, gm])              # gate halves a | b share groups
        self.register_buffer("h_mask", hm)
        vm = torch.ones(f2, c_in, r + 1, 2 * r + 1)
        if not first:
            vm[:, :, r, r + 1:] = 0                       # row y: nothing right of x
        self.register_buffer("v_mask", vm)
        self.register_buffer("res_mask", group_mask(hidden, hidden, groups, False)[..., None, None])
        for conv in (self.v, self.h, self.link, self.res, self.skip):
            nn.init.kaiming_uniform_(conv.weight, a=5 ** 0.5)
        nn.init.zeros_(self.res.bias)

    def forward(self, v, h, quant: bool, bits: int):
        gm, so, zo = self.cfg.g_max, self.cfg.s_one, self.cfg.z_one
        u_in = U_IMG if self.first else 1 / gm
        u_h = U_IMG if self.first else 1 / H_ONE
        r = self.r
        wv = self.v.weight * self.v_mask
        wh = self.h.weight * self.h_mask
        wl = self.link.weight
        wr = self.res.weight * self.res_mask
        ws = self.skip.weight * self.res_mask
        if quant:
            (wv,) = fq_rows([wv], [u_in], bits)
            wh, wl = fq_rows([wh, wl], [u_h, 1 / gm], bits)
            (wr,) = fq_rows([wr], [1 / gm], bits)
            (ws,) = fq_rows([ws], [1 / gm], bits)
        v_new = gate(Fn.conv2d(Fn.pad(v, (r, r, r, 0)), wv, self.v.bias), quant, zo, gm)
        v_down = Fn.pad(v_new, (0, 0, 1, 0))[:, :, :-1]
        pre = Fn.conv2d(Fn.pad(h, (r, 0, 0, 0)), wh, self.h.bias) + Fn.conv2d(v_down, wl)
        g = gate(pre, quant, zo, gm)
        res = Fn.conv2d(g, wr, self.res.bias)
        h_new = res if self.first else h + _q(res, H_ONE, -2 * A_MAX, 2 * A_MAX, quant)
        h_new = _q(h_new, H_ONE, -A_MAX, A_MAX, quant)
        skip = Fn.conv2d(g, ws, self.skip.bias)
        s_max = self.cfg.s_max
        return v_new, h_new, _q(skip, so, -4 * s_max, 4 * s_max, quant)


def gate(pre: torch.Tensor, quant: bool, z_one: int = Z_ONE, g_max: int = G_MAX) -> torch.Tensor:
    """(N, 2F, ...) pre-activations -> (N, F, ...) tanh(a) * sigmoid(b) (on the LUT grid if
    quant: pre-activations in 1/z_one steps, outputs in 1/g_max)."""
    z = torch.clamp(pre, -Z_MAX / Z_ONE, Z_MAX / Z_ONE)
    if quant:
        z = ste(z, torch.round(z * z_one) / z_one)
    a, b = z.chunk(2, dim=1)
    t, s = torch.tanh(a), torch.sigmoid(b)
    if quant:
        one = 2 ** LUT_Q
        t = ste(t, torch.round(t * one) / one)
        s = ste(s, torch.round(s * one) / one)
    out = t * s
    return ste(out, torch.round(out * g_max) / g_max) if quant else out


class PixelCNN(nn.Module):
    """Float Gated PixelCNN. forward: (N, C, H, W) uint8-valued -> (N, C, 256, H, W) logits."""

    def __init__(self, cfg: PixelCNNConfig):
        super().__init__()
        if cfg.hidden % cfg.channels:
            raise ValueError("hidden must be a multiple of channels")
        self.cfg = cfg
        c, f = cfg.channels, cfg.hidden
        self.layers = nn.ModuleList(
            GatedLayer(c if i == 0 else f, f, c, r, i == 0, cfg)
            for i, r in enumerate(cfg.radii))
        self.head1 = nn.Conv2d(f, f, 1)
        n_out = 256 * c + (2 * c if cfg.laplace else 0)
        self.head2 = nn.Conv2d(f, n_out, 1)
        self.register_buffer("m1", group_mask(f, f, c, False)[..., None, None])
        m2 = group_mask(256 * c, f, c, False)
        if cfg.laplace:          # rows: 256 C free logits, then C means, then C log-rates
            gm = group_mask(c, f, c, False)
            m2 = torch.cat([m2, gm, gm])
            with torch.no_grad():
                self.head2.bias[256 * c:256 * c + c] = 127.5 / MU_SCALE
                self.head2.bias[256 * c + c:] = -1.0
                self.head2.weight[256 * c:] *= 0.1 / MU_SCALE   # start near mu = 127.5
                self.head2.weight[:256 * c] *= 0.01               # ... and a plain Laplace
                self.head2.bias[:256 * c] = 0.0
            # linear prediction of mu from the causal neighbours (rows y-1..y, cols x-1..x+1;
            # row y: the left pixel, and channels < c of the pixel itself), on q = 2p - 255:
            # mu += sum(w * q) / 2. Starts as the mean of the left and upper pixels.
            self.lin_pred = nn.Parameter(torch.zeros(c, c, 2, 3))
            lm = torch.ones(c, c, 2, 3)
            lm[:, :, 1, 2] = 0
            lm[:, :, 1, 1] = group_mask(c, c, c, True)
            self.register_buffer("lp_mask", lm)
            with torch.no_grad():
                for k in range(c):
                    self.lin_pred[k, k, 1, 0] = self.lin_pred[k, k, 0, 1] = 0.5
        self.register_buffer("m2", m2[..., None, None])

    def forward(self, p: torch.Tensor, quant: bool = False) -> torch.Tensor:
        x = (2 * p.to(self.head1.weight.dtype) - 255) * U_IMG
        v = h = x
        skip = 0
        bits = self.cfg.weight_bits
        for layer in self.layers:
            v, h, s = layer(v, h, quant, bits)
            skip = skip + s
        so, s_max = self.cfg.s_one, self.cfg.s_max
        s = _q(skip, so, 0, s_max, quant)
        w1, w2 = self.head1.weight * self.m1, self.head2.weight * self.m2
        if quant:
            (w1,) = fq_rows([w1], [1 / so], bits)
            (w2,) = fq_rows([w2], [1 / so], bits)
        o = _q(Fn.conv2d(s, w1, self.head1.bias), so, 0, s_max, quant)
        raw = Fn.conv2d(o, w2, self.head2.bias)
        n, _, hh, ww = p.shape
        c = self.cfg.channels
        free = raw[:, :256 * c]
        if self.cfg.laplace:
            free = _q(free, LOGIT_ONE, -4 * LOGIT_MAX, 4 * LOGIT_MAX, quant)
            wl = self.lin_pred * self.lp_mask
            if quant:
                (wl,) = fq_rows([wl], [0.5], bits)
            qimg = 2 * p.to(raw.dtype) - 255
            lp = Fn.conv2d(Fn.pad(qimg, (1, 1, 1, 0)), wl) / 2
            mu = _q(MU_SCALE * raw[:, 256 * c:256 * c + c], MU_ONE, 2 * MU_MIN, 2 * MU_MAX, quant)
            mu = mu + _q(lp, MU_ONE, 2 * MU_MIN, 2 * MU_MAX, quant)
            mu = torch.clamp(mu, MU_MIN / MU_ONE, MU_MAX / MU_ONE)
            t = _q(raw[:, 256 * c + c:], T_ONE, -T_OFF, T_N - 1 - T_OFF, quant)
            rate = torch.exp(t)
            if quant:
                rate = ste(rate, torch.round(rate * 2**BETA_BITS) / 2**BETA_BITS)
            k = torch.arange(256, dtype=raw.dtype, device=raw.device)[None, None, :, None, None]
            para = (k - mu[:, :, None]).abs() * rate[:, :, None]
            if quant:
                para = ste(para, torch.round(para * LOGIT_ONE) / LOGIT_ONE)
            logits = free.view(n, c, 256, hh, ww) - para
        else:
            logits = free.view(n, c, 256, hh, ww)
        return _q(logits, LOGIT_ONE, -LOGIT_MAX, LOGIT_MAX, quant)

    def nll_bits(self, p: torch.Tensor, quant: bool = False) -> torch.Tensor:
        """(N, C, H, W) pixels -> (N,) bits to code each image."""
        logits = self(p, quant)
        nats = Fn.cross_entropy(logits.transpose(1, 2), p.long(), reduction="none")
        return nats.flatten(1).sum(1) / torch.log(torch.tensor(2.0))

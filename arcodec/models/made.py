"""MADE (Germain et al. 2015) for binary images, as a float QAT network and its integer twin.

Float model (training): masked MLP ``D -> H1 -> ... -> D`` plus masked direct input->output
connections; weights fake-quantised to ``weight_bits`` per output row and hidden activations to
unsigned ``act_bits`` after ReLU.

Integer model (coding): the same network on integers only (see ``IntMADE``). Its conditionals are
exact, so teacher-forced encoding and pixel-by-pixel decoding give identical frequency tables.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from ..exact.fakequant import ActQuant, fake_quant_weight, weight_scale
from ..exact.intops import exact_matmul, fixed_multiplier, requant
from ..exact.tables import LOGIT_MAX, LOGIT_ONE, logits_to_freqs

MAX_SHIFT = 32  # largest fixed-point shift of a requantisation multiplier


def _pick_shift(acc_bound: int, ratio: torch.Tensor) -> int:
    """Largest shift <= MAX_SHIFT with ``acc_bound * round(ratio * 2^shift) < 2^62``."""
    r = float(ratio.abs().max())
    for shift in range(MAX_SHIFT, 7, -1):
        if acc_bound * (round(r * 2.0**shift) + 1) < 2**62:
            return shift
    raise ValueError("requantisation ratio too large for int64")


@dataclass
class MADEConfig:
    n_in: int = 784                    # number of binary inputs (pixels), coded in raster order
    hidden: list[int] = field(default_factory=lambda: [1024, 1024])  # hidden layer widths
    direct: bool = True                # masked direct input -> output connections
    mask_seed: int = 0                 # seed of the hidden-unit degrees (masks are saved too)
    weight_bits: int = 8               # signed weight bits, per-output-row scale
    act_bits: int = 12                 # unsigned hidden activation bits after ReLU
    freq_bits: int = 16                # frequency tables sum to 2**freq_bits


def made_masks(cfg: MADEConfig) -> list[torch.Tensor]:
    """Masks (out, in) for each layer, then the direct mask; raster ordering, seeded degrees."""
    g = torch.Generator().manual_seed(cfg.mask_seed)
    d = cfg.n_in
    degrees = [torch.arange(1, d + 1)]
    for h in cfg.hidden:
        lo = int(degrees[-1].min()) if len(degrees) > 1 else 1
        degrees.append(torch.randint(lo, d, (h,), generator=g))
    masks = [(degrees[i + 1][:, None] >= degrees[i][None, :]).float()
             for i in range(len(cfg.hidden))]
    out_deg = torch.arange(1, d + 1)
    masks.append((out_deg[:, None] > degrees[-1][None, :]).float())
    masks.append((out_deg[:, None] > degrees[0][None, :]).float())  # direct
    return masks


class MADE(nn.Module):
    """Float MADE with QAT. forward: (N, D) float in {0, 1} -> (N, D) logits of p(x_i = 1)."""

    def __init__(self, cfg: MADEConfig):
        super().__init__()
        self.cfg = cfg
        sizes = [cfg.n_in, *cfg.hidden, cfg.n_in]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.acts = nn.ModuleList(ActQuant(cfg.act_bits) for _ in cfg.hidden)
        self.direct = nn.Linear(cfg.n_in, cfg.n_in, bias=False) if cfg.direct else None
        for i, m in enumerate(made_masks(cfg)):
            self.register_buffer(f"mask{i}", m)

    def mask(self, i: int) -> torch.Tensor:
        return getattr(self, f"mask{i}")

    def masked_weight(self, i: int) -> torch.Tensor:
        """Masked weight of layer i (i = len(layers) is the direct layer)."""
        w = self.direct.weight if i == len(self.layers) else self.layers[i].weight
        return w * self.mask(i)

    def qweight(self, i: int) -> torch.Tensor:
        """Masked, fake-quantised weight of layer i (i = len(layers) is the direct layer)."""
        return fake_quant_weight(self.masked_weight(i), self.cfg.weight_bits)

    def forward(self, x: torch.Tensor, quant: bool = True) -> torch.Tensor:
        """``quant``: weights and activations on the integer model's grid (QAT); False: the
        same weights in plain float arithmetic (ReLU, no rounding or clipping)."""
        weight = self.qweight if quant else self.masked_weight
        h = x
        for i, layer in enumerate(self.layers):
            h = nn.functional.linear(h, weight(i), layer.bias)
            if i < len(self.acts):
                h = self.acts[i](h) if quant else torch.relu(h)
        if self.direct is not None:
            h = h + nn.functional.linear(x, weight(len(self.layers)))
        return h

    def nll_bits(self, x: torch.Tensor, quant: bool = True) -> torch.Tensor:
        """(N, D) binary -> (N,) negative log2-likelihood of each image."""
        logits = self(x, quant)
        nats = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
        return nats.sum(dim=1) / torch.log(torch.tensor(2.0))


def to_integer(model: MADE) -> dict[str, torch.Tensor]:
    """Convert a trained float MADE to the integer tensors of ``IntMADE`` (done once, on CPU).

    Per layer i: ``w{i}`` int8 weights, ``b{i}`` int64 bias in accumulator units, ``m{i}`` int64
    multipliers and ``s{i}`` their shift (chosen so the int64 product provably cannot overflow);
    ``wd``, ``md``, ``sd`` for the direct connections.
    """
    cfg = model.cfg
    qmax = 2 ** (cfg.weight_bits - 1) - 1
    amax = 2**cfg.act_bits - 1
    t: dict[str, torch.Tensor] = {}

    def add(key: str, w: torch.Tensor, bias: torch.Tensor | None, in_scale, in_max: int,
            out_ratio) -> None:
        s = weight_scale(w, cfg.weight_bits).double()
        wq = torch.clamp(torch.round(w / s[:, None]), -qmax, qmax)
        acc_scale = s * in_scale
        b = torch.round(bias.double() / acc_scale) if bias is not None else torch.zeros_like(s)
        bound = w.shape[1] * qmax * in_max + int(b.abs().max())
        ratio = acc_scale * out_ratio
        shift = _pick_shift(bound, ratio)
        t[f"w{key}"] = wq.to(torch.int8)
        t[f"b{key}"] = b.to(torch.int64)
        t[f"m{key}"] = fixed_multiplier(ratio, shift)
        t[f"s{key}"] = torch.tensor(shift, dtype=torch.int64)

    in_scale = torch.tensor(1.0, dtype=torch.float64)
    n = len(model.layers)
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            w = (layer.weight * model.mask(i)).double()
            in_max = 1 if i == 0 else amax
            if i < n - 1:
                out_scale = model.acts[i].scale.double()
                add(str(i), w, layer.bias, in_scale, in_max, 1 / out_scale)
                in_scale = out_scale
            else:
                add(str(i), w, layer.bias, in_scale, in_max, LOGIT_ONE)
        if model.direct is not None:
            add("d", (model.direct.weight * model.mask(n)).double(), None, 1.0, 1, LOGIT_ONE)
            del t["bd"]
    return t


@torch.no_grad()
def to_float(cfg: MADEConfig, t: dict[str, torch.Tensor]) -> MADE:
    """The float64 ``MADE`` whose weights are the integer model's (inverse of ``to_integer``:
    ``to_integer(to_float(cfg, t)) == t``). ``forward(x, quant=False)`` is the float model of
    the shipped weights.

    A multiplier only fixes ``weight scale * input scale / output scale``. The activation scales
    are read from rows whose weights are all masked (their weight scale is 1, so the ratio is
    the input scale over the output's); a hidden layer without such a row in the next layer
    gets scale 1, which changes nothing else: ReLU commutes with positive scales.
    """
    model = MADE(cfg).double()
    n = len(model.layers)

    def ratio(key: str) -> torch.Tensor:
        return t[f"m{key}"].double() / 2.0 ** int(t[f"s{key}"])

    out_scale = [1.0] * (n - 1) + [1 / LOGIT_ONE]       # layer i's output unit (logits: 1/64)
    for i in range(n - 1, 0, -1):                          # input scale of layer i from a
        zero = (t[f"w{i}"] == 0).all(1).nonzero().flatten()   # masked row, back to front
        if len(zero):
            out_scale[i - 1] = float(ratio(str(i))[zero[0]]) * out_scale[i]
    in_scale = 1.0
    for i, layer in enumerate(model.layers):
        s = ratio(str(i)) * out_scale[i] / in_scale
        layer.weight.copy_(t[f"w{i}"].double() * s[:, None])
        layer.bias.copy_(t[f"b{i}"].double() * s * in_scale)
        if i < n - 1:
            model.acts[i].clip.fill_(out_scale[i] * (2**cfg.act_bits - 1))
        in_scale = out_scale[i]
    if model.direct is not None:
        model.direct.weight.copy_(t["wd"].double() * (ratio("d") / LOGIT_ONE)[:, None])
    return model.eval()


class IntMADE:
    """Integer-exact MADE. All conditionals are pure functions of the integer tensors.

    Products run in ``dtype`` (float32 with digit planes, or float64) and are exact by the
    bound in ``exact_matmul``; requantisation is int64 fixed point.
    """

    def __init__(self, cfg: MADEConfig, tensors: dict[str, torch.Tensor],
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64):
        self.cfg = cfg
        self.device = torch.device(device)
        self.dtype = dtype
        self.n = len(cfg.hidden) + 1
        self.amax = 2**cfg.act_bits - 1
        self.wmax = 2 ** (cfg.weight_bits - 1) - 1
        self.w_t = [tensors[f"w{i}"].to(self.device, dtype).T.contiguous() for i in range(self.n)]
        self.b = [tensors[f"b{i}"].to(self.device, torch.int64) for i in range(self.n)]
        self.m = [tensors[f"m{i}"].to(self.device, torch.int64) for i in range(self.n)]
        self.s = [int(tensors[f"s{i}"]) for i in range(self.n)]
        self.direct = "wd" in tensors
        if self.direct:
            self.wd_t = tensors["wd"].to(self.device, dtype).T.contiguous()
            self.md = tensors["md"].to(self.device, torch.int64)
            self.sd = int(tensors["sd"])
        self.check_bounds()

    def in_max(self, i: int) -> int:
        return 1 if i == 0 else self.amax

    def check_bounds(self) -> None:
        """Prove |acc * multiplier| < 2^62 for every layer, so int64 requantisation never overflows."""
        for i in range(self.n):
            k = self.w_t[i].shape[0]
            acc = k * self.wmax * self.in_max(i) + int(self.b[i].abs().max())
            if acc * int(self.m[i].abs().max()) >= 2**62:
                raise ValueError(f"layer {i}: requantisation bound exceeds int64")
        if self.direct and self.wd_t.shape[0] * self.wmax * int(self.md.abs().max()) >= 2**62:
            raise ValueError("direct layer: requantisation bound exceeds int64")

    def _mm(self, x: torch.Tensor, i: int) -> torch.Tensor:
        return exact_matmul(x, self.w_t[i], x_max=self.in_max(i), w_max=self.wmax, dtype=self.dtype)

    def _act(self, acc: torch.Tensor, i: int) -> torch.Tensor:
        return requant(acc, self.m[i], self.s[i]).clamp(0, self.amax)

    def _logit(self, acc_out: torch.Tensor, acc_direct: torch.Tensor | None,
               cols: slice | int = slice(None)) -> torch.Tensor:
        """Output accumulators (for output columns ``cols``) -> clamped fixed-point logits."""
        lg = requant(acc_out, self.m[-1][cols], self.s[-1])
        if acc_direct is not None:
            lg = lg + requant(acc_direct, self.md[cols], self.sd)
        return lg.clamp(-LOGIT_MAX, LOGIT_MAX)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Teacher-forced: (N, D) int in {0, 1} -> (N, D) int64 fixed-point logits of p(x_i = 1)."""
        x = x.to(self.device, torch.int64)
        h = x
        for i in range(self.n - 1):
            h = self._act(self._mm(h, i) + self.b[i], i)
        acc_out = self._mm(h, self.n - 1) + self.b[-1]
        acc_d = exact_matmul(x, self.wd_t, x_max=1, w_max=self.wmax, dtype=self.dtype) \
            if self.direct else None
        return self._logit(acc_out, acc_d)

    def freqs(self, x: torch.Tensor) -> torch.Tensor:
        """Teacher-forced: (N, D) binary -> (N, D, 2) int64 frequency tables (sum 2**freq_bits)."""
        return bernoulli_freqs(self.logits(x), self.cfg.freq_bits)

    def decoder(self, batch: int) -> "MADEStepper":
        return MADEStepper(self, batch)


def bernoulli_freqs(logits: torch.Tensor, freq_bits: int) -> torch.Tensor:
    """(...,) fixed-point logits of p(1) -> (..., 2) frequencies [f(0), f(1)]."""
    return logits_to_freqs(torch.stack([torch.zeros_like(logits), logits], dim=-1), freq_bits)


class MADEStepper:
    """Pixel-by-pixel conditionals with cached integer accumulators.

    Because every accumulator is an exact integer, adding the contribution of a newly decoded
    pixel gives the same value as recomputing the whole layer: the cost per pixel depends only on
    how many units change, never on a full forward pass.
    """

    def __init__(self, model: IntMADE, batch: int):
        self.mdl = model
        dev = model.device
        self.x = torch.zeros(batch, model.cfg.n_in, dtype=torch.int64, device=dev)
        self.acc: list[torch.Tensor] = []   # per layer (N, width) int64 accumulators
        self.h: list[torch.Tensor] = []     # per hidden layer (N, width) int64 activations
        inp = self.x
        for i in range(model.n):            # state for the all-zero prefix
            self.acc.append(model._mm(inp, i) + model.b[i])
            if i < model.n - 1:
                inp = model._act(self.acc[i], i)
                self.h.append(inp)
        self.acc_d = torch.zeros(batch, model.cfg.n_in, dtype=torch.int64, device=dev)

    def freqs(self, i: int) -> torch.Tensor:
        """(N, 2) frequency tables of pixel i given pixels < i already pushed."""
        lg = self.mdl._logit(self.acc[-1][:, i], self.acc_d[:, i] if self.mdl.direct else None, i)
        return bernoulli_freqs(lg, self.mdl.cfg.freq_bits)

    def push(self, i: int, bits: torch.Tensor) -> None:
        """Feed the decoded value (N,) in {0, 1} of pixel i."""
        mdl = self.mdl
        bits = bits.to(mdl.device, torch.int64)
        self.x[:, i] = bits
        rows = bits.nonzero().flatten()
        if rows.numel() == 0:
            return
        if mdl.direct:
            self.acc_d[rows] += mdl.wd_t[i].to(torch.int64)
        delta_in = None
        for layer in range(mdl.n):
            if layer == 0:
                self.acc[0][rows] += mdl.w_t[0][i].to(torch.int64)
            else:
                d = delta_in
                cols = (d != 0).any(dim=0).nonzero().flatten()
                if cols.numel() == 0:
                    return
                w = mdl.w_t[layer][cols]
                pos = exact_matmul(d[:, cols].clamp_min(0), w, x_max=mdl.amax,
                                   w_max=mdl.wmax, dtype=mdl.dtype)
                neg = exact_matmul((-d[:, cols]).clamp_min(0), w, x_max=mdl.amax,
                                   w_max=mdl.wmax, dtype=mdl.dtype)
                self.acc[layer][rows] += pos - neg
            if layer < mdl.n - 1:
                new_h = mdl._act(self.acc[layer][rows], layer)
                delta_in = new_h - self.h[layer][rows]
                self.h[layer][rows] = new_h


def config_dict(cfg: MADEConfig) -> dict:
    return asdict(cfg)

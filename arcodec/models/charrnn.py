"""Char-RNN: a byte-level LSTM (one layer) as a float network and its integer-exact twin.

Float model (training): ``byte -> gate table (256, 4H)`` (embedding and input weights folded
into one table) + ``W_h h`` -> LSTM cell -> ``W_o h`` -> 256 logits. Two forward modes:
``fast`` uses torch's fused LSTM (bulk training); ``qat`` runs a cell that rounds every quantity
to the grid the integer model uses (fine-tuning before export).

Integer model (coding), per step, all int64 except the exact products:
  acc   = X[byte] + W_h (h + HQ) - HQ * rowsum(W_h) + b       (acc units: s_w[row] / HQ)
  z     = requant(acc) in 1/32 units, clamped to [-8, 8]
  i,f,o = SIGMOID[z] (Q12),  g = TANH[z] (Q12)
  c     = (f c + 2048) >> 12 + (i g + 2048) >> 12,   clamped to +-C_MAX   (Q12)
  h     = (o TANH[round(c / 128)] HQ + 2^23) >> 24     (HQ = 2^(h_bits-1) - 1, |h| <= HQ)
  logit = requant(W_o (h + HQ) - HQ rowsum(W_o) + b_o) in 1/64 nat -> logits_to_freqs
With h_bits = 8 and H <= 512, ``H * 127 * 254 < 2^24``: every product is one exact float32 pass.
On a CPU whose int8 products are exact (``intops.int8_products_exact``, the default there) the
product is W h itself, int8 by int8 in int32 sums: the same integers, 4x faster.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, getcontext
from functools import lru_cache

import torch
from torch import nn

from ..exact import jit
from ..exact.fakequant import fake_quant_weight, ste, weight_scale
from ..exact.intops import (INT8_LIMIT, exact_matmul, exact_matmul_int8, fixed_multiplier,
                            requant)
from ..exact.tables import LOGIT_MAX, LOGIT_ONE, logits_to_freqs

Q = 12                 # activations (gates, c, h) are fixed point with 2^12 = 1.0
ONE = 1 << Q
Z_ONE = 32             # gate pre-activations index the tables in 1/32 steps
Z_MAX = 8 * Z_ONE      # ... clamped to [-8, 8]
C_MAX = 64 * ONE       # cell state clamped to [-64, 64]


@dataclass
class CharRNNConfig:
    hidden: int = 256          # LSTM width H
    embed: int = 64            # byte embedding width (folded away in the integer model)
    h_bits: int = 8            # signed bits of h where it enters the products (h_q = round(h*HQ))
    weight_bits: int = 8       # signed bits of W_h and W_o, per-row scale
    freq_bits: int = 16        # frequency tables sum to 2**freq_bits


@lru_cache(maxsize=None)
def _tables(z_one: int = Z_ONE) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """SIGMOID and TANH tables over z = -8..8 in 1/z_one steps (16 z_one + 1 entries), Q12,
    via ``decimal``."""
    getcontext().prec = 40
    sig, tnh = [], []
    for k in range(-8 * z_one, 8 * z_one + 1):
        z = Decimal(k) / Decimal(z_one)
        e = (-z).exp()
        sig.append(int((Decimal(ONE) / (1 + e)).to_integral_value()))
        e2 = (2 * z).exp()
        tnh.append(int((Decimal(ONE) * (e2 - 1) / (e2 + 1)).to_integral_value()))
    return tuple(sig), tuple(tnh)


def lut(device: torch.device | str, z_one: int = Z_ONE) -> tuple[torch.Tensor, torch.Tensor]:
    """(sigmoid, tanh) tables, int64 (16 z_one + 1,), Q12, for z = -8..8 in 1/z_one steps."""
    sig, tnh = _tables(z_one)
    return (torch.tensor(sig, dtype=torch.int64, device=device),
            torch.tensor(tnh, dtype=torch.int64, device=device))


class CharRNN(nn.Module):
    """Float byte LSTM. forward: (N, T) int64 bytes -> (N, T, 256) logits of the *next* byte.

    Position t predicts byte t+1 from bytes 0..t. For coding, the integer model folds the
    embedding, input weights and both biases into one (256, 4H) gate table.
    """

    def __init__(self, cfg: CharRNNConfig):
        super().__init__()
        self.cfg = cfg
        self.emb = nn.Embedding(256, cfg.embed)
        self.lstm = nn.LSTM(cfg.embed, cfg.hidden, batch_first=True)
        self.out = nn.Linear(cfg.hidden, 256)

    def gate_table(self) -> torch.Tensor:
        """(256, 4H): the input part of the gate pre-activations for each byte, biases included."""
        l = self.lstm
        return self.emb.weight @ l.weight_ih_l0.T + l.bias_ih_l0 + l.bias_hh_l0

    def forward(self, x: torch.Tensor, mode: str = "fast") -> torch.Tensor:
        return self.run(x, mode)[0]

    def run(self, x: torch.Tensor, mode: str = "fast",
            state: tuple[torch.Tensor, torch.Tensor] | None = None
            ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """(N, T) bytes and the state (h, c), each (N, H), after the bytes before them (None:
        zeros) -> ((N, T, 256) logits, state after byte T-1). Carrying the state from window to
        window is truncated BPTT over long streams, as the coder runs them."""
        if mode == "fast":
            st = None if state is None else (state[0][None].contiguous(), state[1][None].contiguous())
            out, (h, c) = self.lstm(self.emb(x), st)
            return self.out(out), (h[0], c[0])
        return self._qat(x, state)

    def _qat(self, x: torch.Tensor, state=None):
        """Cell that rounds to the integer model's grid (straight-through gradients)."""
        n, t = x.shape
        h_size = self.cfg.hidden
        w_h = fake_quant_weight(self.lstm.weight_hh_l0, self.cfg.weight_bits)
        w_o = fake_quant_weight(self.out.weight, self.cfg.weight_bits)
        pre_x = self.gate_table()[x]
        hq = 2 ** (self.cfg.h_bits - 1) - 1
        if state is None:
            h = torch.zeros(n, h_size, device=x.device)
            c = torch.zeros(n, h_size, device=x.device)
        else:
            h, c = state
        outs = []
        for k in range(t):
            z = pre_x[:, k] + h @ w_h.T
            z = ste(z, torch.clamp(torch.round(z * Z_ONE), -Z_MAX, Z_MAX) / Z_ONE)
            i, f, g, o = z.chunk(4, dim=1)
            i, f, o = (_q(torch.sigmoid(v)) for v in (i, f, o))
            g = _q(torch.tanh(g))
            c = _q(torch.clamp(f * c + i * g, -C_MAX / ONE, C_MAX / ONE))
            cz = ste(c, torch.clamp(torch.round(c * Z_ONE), -Z_MAX, Z_MAX) / Z_ONE)
            h = _qh(o * _q(torch.tanh(cz)), hq)
            outs.append(h)
        hs = torch.stack(outs, dim=1)
        return nn.functional.linear(hs, w_o, self.out.bias), (h, c)

    def nll_bits(self, x: torch.Tensor, mode: str = "fast") -> torch.Tensor:
        """(N, T) bytes -> (N,) bits to code bytes 1..T-1 given their prefixes."""
        logits = self(x[:, :-1], mode)
        nats = nn.functional.cross_entropy(logits.reshape(-1, 256), x[:, 1:].reshape(-1),
                                           reduction="none")
        return nats.view(x.shape[0], -1).sum(1) / torch.log(torch.tensor(2.0))


def _q(v: torch.Tensor) -> torch.Tensor:
    return ste(v, torch.round(v * ONE) / ONE)


def _qh(v: torch.Tensor, hq: int) -> torch.Tensor:
    return ste(v, torch.round(v * hq) / hq)


def to_integer(model: CharRNN) -> dict[str, torch.Tensor]:
    """Integer tensors of ``IntCharRNN`` from a trained float model (once, on CPU)."""
    cfg = model.cfg
    qmax = 2 ** (cfg.weight_bits - 1) - 1
    t: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        w = model.lstm.weight_hh_l0.double()
        s = weight_scale(w, cfg.weight_bits).double()               # (4H,)
        t["w_h"] = torch.clamp(torch.round(w / s[:, None]), -qmax, qmax).to(torch.int8)
        hq = 2 ** (cfg.h_bits - 1) - 1
        acc_unit = s / hq                                           # real value of 1 acc unit
        t["x"] = torch.round(model.gate_table().double() / acc_unit).to(torch.int64)
        t["m_z"] = fixed_multiplier(acc_unit * Z_ONE, 32)
        wo = model.out.weight.double()
        so = weight_scale(wo, cfg.weight_bits).double()
        t["w_o"] = torch.clamp(torch.round(wo / so[:, None]), -qmax, qmax).to(torch.int8)
        t["b_o"] = torch.round(model.out.bias.double() / (so / hq)).to(torch.int64)
        t["m_o"] = fixed_multiplier(so / hq * LOGIT_ONE, 32)
    return t


@torch.no_grad()
def to_float(cfg: CharRNNConfig, t: dict[str, torch.Tensor]) -> CharRNN:
    """The float64 ``CharRNN`` whose weights are the integer model's (inverse of ``to_integer``:
    ``to_integer(to_float(cfg, t)) == t``). The gate table is its input path: the embedding is
    the identity on 256 one-hot bytes (``embed`` = 256), the input weights the table, the
    biases zero. ``mode="fast"`` is the float model of the shipped weights."""
    hq = 2 ** (cfg.h_bits - 1) - 1
    acc_unit = t["m_z"].double() / 2.0**32 / Z_ONE            # real value of 1 acc unit (4H,)
    out_unit = t["m_o"].double() / 2.0**32 / LOGIT_ONE        # ... of 1 output acc unit (256,)
    model = CharRNN(CharRNNConfig(cfg.hidden, 256, cfg.h_bits, cfg.weight_bits,
                                  cfg.freq_bits)).double()
    model.emb.weight.copy_(torch.eye(256, dtype=torch.float64))
    lstm = model.lstm
    lstm.weight_ih_l0.copy_((t["x"].double() * acc_unit).T)
    lstm.bias_ih_l0.zero_()
    lstm.bias_hh_l0.zero_()
    lstm.weight_hh_l0.copy_(t["w_h"].double() * (acc_unit * hq)[:, None])
    model.out.weight.copy_(t["w_o"].double() * (out_unit * hq)[:, None])
    model.out.bias.copy_(t["b_o"].double() * out_unit)
    return model.eval()


class IntCharRNN:
    """Integer-exact byte LSTM. ``step`` is the only place the recurrence is computed: the encoder
    runs it over all positions and the decoder one position at a time, so both produce
    identical tables by construction.

    State: (h, c, acc) with h (N, H) int64, c (N, H) Q12 int32 (int64 where the bounds in
    ``__init__`` do not hold) and acc (N, 4H + 256) int64 (int32 from int8 products) = the exact
    product of h with [W_h; W_o] (one fused product per step serves both the next byte's
    logits and the next gates).
    """

    def __init__(self, cfg: CharRNNConfig, tensors: dict[str, torch.Tensor],
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        self.cfg = cfg
        self.device = torch.device(device)
        self.dtype = dtype
        self.wmax = 2 ** (cfg.weight_bits - 1) - 1
        self.hq = 2 ** (cfg.h_bits - 1) - 1
        w = torch.cat([tensors["w_h"], tensors["w_o"]]).to(self.device)   # (4H + 256, H)
        if dtype == torch.int8 and (cfg.hidden * self.wmax * self.hq >= INT8_LIMIT
                                    or self.wmax > 127 or self.hq > 127):
            raise ValueError("char-RNN: no exact int8 product for these weights")
        self.w_t = w.to(dtype).T.contiguous()                                # (H, 4H + 256)
        # float products take h + HQ >= 0 and subtract HQ rowsum(W); int8 products take h itself
        self.off = self.hq * w.to(torch.int64).sum(1) * (dtype != torch.int8)  # (4H + 256,)
        self.x = tensors["x"].to(self.device, torch.int64)                  # (256, 4H)
        # the compiled cell reads X in int32 where it fits (half the memory traffic)
        self.x_k = self.x.to(torch.int32) if self.x.abs().max() < 2**30 else self.x
        self.m_z = tensors["m_z"].to(self.device, torch.int64)
        self.b_o = tensors["b_o"].to(self.device, torch.int64)
        self.m_o = tensors["m_o"].to(self.device, torch.int64)
        self.sig, self.tanh = lut(self.device)
        self.g = 4 * cfg.hidden
        # after the requantisation every step quantity fits int32 (|f c| <= 2^12 * C_MAX = 2^30,
        # |o tanh HQ| + 2^23 < 2^31 for HQ <= 127): one gate table for i, f, g, o (each 513
        # entries, the column's gate picked by an offset) and int32 arithmetic, half the traffic
        self.i32 = ONE * C_MAX + ONE < 2**31 and ONE * ONE * self.hq + (1 << 23) < 2**31
        idt = torch.int32 if self.i32 else torch.int64
        self.gate_lut = torch.cat([self.sig, self.sig, self.tanh, self.sig]).to(idt)  # (4*513,)
        self.gate_off = (torch.arange(self.g, device=self.device) // cfg.hidden) \
            * (2 * Z_MAX + 1) + Z_MAX                                           # (4H,)
        self.tanh_c = self.tanh.to(idt)
        prod = cfg.hidden * self.wmax * 2 * self.hq + int(self.off.abs().max())
        if (prod + int(self.x.abs().max())) * int(self.m_z.max()) >= 2**62 or \
                (prod + int(self.b_o.abs().max())) * int(self.m_o.max()) >= 2**62:
            raise ValueError("char-RNN requantisation bound exceeds int64")

    def _acc(self, h: torch.Tensor) -> torch.Tensor:
        # |h| <= HQ by construction (h = (o * tanh * HQ + 2^23) >> 24 with |o|, |tanh| <= 2^12),
        # so h + HQ lies in [0, 2 HQ] and the run-time range check can be skipped.
        if self.dtype == torch.int8:       # W h in int32 sums (bound checked in __init__)
            return exact_matmul_int8(h.to(torch.int8), self.w_t)
        return exact_matmul(h + self.hq, self.w_t, x_max=2 * self.hq, w_max=self.wmax,
                            dtype=self.dtype, check=False) - self.off

    def init_state(self, n: int):
        """Zero state for n streams."""
        h = torch.zeros(n, self.cfg.hidden, dtype=torch.int64, device=self.device)
        return h, h.to(self.gate_lut.dtype), self._acc(h)

    def logits(self, state) -> torch.Tensor:
        """State -> (N, 256) fixed-point logits of the next byte."""
        acc = state[2][:, self.g:] + self.b_o
        return requant(acc, self.m_o, 32).clamp(-LOGIT_MAX, LOGIT_MAX)

    def freqs(self, state) -> torch.Tensor:
        """State -> (N, 256) int64 frequencies of the next byte."""
        return logits_to_freqs(self.logits(state), self.cfg.freq_bits)

    @staticmethod
    def take(state, n: int):
        """The state of the first n streams."""
        return tuple(t[:n] for t in state)

    def step(self, state, byte: torch.Tensor):
        """Consume (N,) bytes: state -> new state. Integer arithmetic (int64 up to the
        requantisation, int32 after it where ``self.i32``) + one exact product. On the CPU
        the cell runs as one compiled loop (``charrnn_kernels.cell``) where numba imports; elsewhere in torch
        (``torch_cell``): the same integers."""
        _, c, acc = state
        if self.device.type == "cpu" and jit.available():
            from .charrnn_kernels import cell      # numba: imported only when needed
            h, c = (torch.from_numpy(t) for t in cell(
                *(t.contiguous().numpy() for t in (acc, byte.to(torch.int64), self.x_k, self.m_z,
                                                   self.gate_lut, self.gate_off, c,
                                                   self.tanh_c)),
                self.hq))
        else:
            h, c = self.torch_cell(acc, byte, c)
        return h, c, self._acc(h)

    def torch_cell(self, acc: torch.Tensor, byte: torch.Tensor,
                   c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, >= 4H) products, (N,) bytes, (N, H) cell -> (h (N, H) int64, c (N, H)) in
        torch tensor operations (any device)."""
        z = requant(acc[:, :self.g] + self.x[byte], self.m_z, 32).clamp_(-Z_MAX, Z_MAX) \
            + self.gate_off
        gates = self.gate_lut.index_select(0, z.reshape(-1)).view(z.shape)   # SIG / TANH[z]
        hs = self.cfg.hidden
        i, f, g, o = gates[:, :hs], gates[:, hs:2 * hs], gates[:, 2 * hs:3 * hs], gates[:, 3 * hs:]
        c = (((f * c + ONE // 2) >> Q) + ((i * g + ONE // 2) >> Q)).clamp_(-C_MAX, C_MAX)
        cz = ((c + 64) >> 7).clamp_(-Z_MAX, Z_MAX) + Z_MAX           # c in 1/32 steps
        h = ((o * self.tanh_c.index_select(0, cz.reshape(-1)).view(cz.shape) * self.hq
              + (1 << (2 * Q - 1))) >> (2 * Q)).to(torch.int64)
        return h, c

ADAPT_FRAC = 8          # fractional bits of the adaptive output weights' master copy
ADAPT_WMAX = 2**15 - 1  # effective adaptive weights stay int16 (keeps every product bound)
ADAPT_BMAX = 2**30      # adaptive output bias is clamped to +-ADAPT_BMAX (acc units)


class AdaptiveIntCharRNN(IntCharRNN):
    """``IntCharRNN`` whose output layer keeps learning while it codes (``--adapt``).

    After each step, with y the coded bytes (one-hot), f their frequency rows and h the state
    that predicted them, the output weights and bias take an integer SGD step on the error
        E = (2^16 - 256) y - (f - 1)      (reachable target; ``reachable=False``: 2^16 y - f)
        G = E^T h                         (exact: |terms| <= 2^16 HQ, sums < 2^53 in float64)
        W_master += G >> (shift + log2 N)  ;  W = clamp(round(W_master / 2^8), +-ADAPT_WMAX)
        b_master += (HQ^2 sum_n E) >> (shift + log2 N)   (SGD on a constant input 1.0)
    ``logits_to_freqs`` keeps every symbol >= 1, so the most extreme table it can give has the
    coded byte at 2^16 - 255. The reachable target is that table: its error vanishes once the
    model is as sure as the table allows. The first rule (``reachable=False``, kept so that
    files written with it still decode) aimed at 2^16 and pushed the rows of predictable bytes
    for ever; on multi-megabyte text those rows grew ~30x and the NLL drifted up (+17% against
    no adaptation on 4 MB of training text, where the reachable target gives -6.6%).
    Encoder and decoder perform the same updates in the same order, so the tables stay equal.
    State is per coding run: create a new model object for every file.
    """

    def __init__(self, cfg: CharRNNConfig, tensors: dict[str, torch.Tensor],
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                 shift: int = 10, reachable: bool = True):
        super().__init__(cfg, tensors, device, dtype)
        self.shift = shift
        self.reachable = reachable
        g = self.g
        self.w_o = self.w_t[:, g:].T.to(torch.int64).contiguous()          # (256, H)
        self.out_dtype = torch.float32 if self.dtype == torch.int8 else self.dtype
        self.w_master = self.w_o << ADAPT_FRAC
        self.b_master = self.b_o << ADAPT_FRAC
        self.w_g_t = self.w_t[:, :g].contiguous()
        self.off_g = self.off[:g]
        self._set_out()
        prod = cfg.hidden * ADAPT_WMAX * 2 * self.hq + self.hq * cfg.hidden * ADAPT_WMAX
        if (prod + ADAPT_BMAX) * int(self.m_o.max()) >= 2**62:
            raise ValueError("adaptive char-RNN requantisation bound exceeds int64")

    def _set_out(self) -> None:
        # the adaptive W_o outgrows int8: its product stays in float (digit planes in float32)
        self.w_o_t = self.w_o.to(self.out_dtype).T.contiguous()             # (H, 256)
        self.off_o = self.hq * self.w_o.sum(1)

    def _acc(self, h: torch.Tensor) -> torch.Tensor:
        # |h| <= HQ by construction (see IntCharRNN._acc); |W_o| <= ADAPT_WMAX by the clamp.
        x = h + self.hq
        if self.dtype == torch.int8:
            a_g = exact_matmul_int8(h.to(torch.int8), self.w_g_t)
        else:
            a_g = exact_matmul(x, self.w_g_t, x_max=2 * self.hq, w_max=self.wmax,
                               dtype=self.dtype, check=False) - self.off_g
        a_o = exact_matmul(x, self.w_o_t, x_max=2 * self.hq, w_max=ADAPT_WMAX,
                           dtype=self.out_dtype, check=False) - self.off_o
        return torch.cat([a_g, a_o], dim=1)

    def learn(self, state, freqs: torch.Tensor, byte: torch.Tensor) -> None:
        """One integer SGD step of the output layer from (N, 256) ``freqs`` and (N,) ``byte``."""
        h = state[0]
        n = h.shape[0]
        total = 1 << self.cfg.freq_bits
        if self.reachable:                      # target: byte at total - 255, the rest at 1
            err, top = 1 - freqs, total - freqs.shape[1]
        else:                                   # first rule: target total on the byte
            err, top = -freqs, total
        err[torch.arange(n, device=err.device), byte] += top
        grad = (err.to(torch.float64).T @ h.to(torch.float64)).to(torch.int64)  # (256, H)
        s = self.shift + max(n - 1, 0).bit_length()
        self.w_master += grad >> s
        self.b_master += (err.sum(0) * (self.hq * self.hq)) >> s
        self.w_o = ((self.w_master + (1 << (ADAPT_FRAC - 1))) >> ADAPT_FRAC).clamp(
            -ADAPT_WMAX, ADAPT_WMAX)
        self.b_o = ((self.b_master + (1 << (ADAPT_FRAC - 1))) >> ADAPT_FRAC).clamp(
            -ADAPT_BMAX, ADAPT_BMAX)
        self._set_out()

    def freqs(self, state) -> torch.Tensor:
        f = super().freqs(state)
        self._last = (state[2], f)        # the coder's table, reused by ``step``
        return f

    def step(self, state, byte: torch.Tensor):
        """Learn from the coded byte (output layer), then advance the recurrence."""
        last = getattr(self, "_last", None)
        f = last[1] if last is not None and last[0] is state[2] else super().freqs(state)
        self.learn(state, f, byte)
        return super().step(state, byte)

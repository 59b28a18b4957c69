"""Integer-exact Gated PixelCNN: conversion from the float model and the coding-time arithmetic.

Every tensor here is an integer (int32/int64); products run through ``exact_matmul_signed``
under a proven bound, checked per map when the model is built (K |w|max |x|max < 2^24 for a
float32 pass: with |w| <= 127, the inputs' |x| <= 255 and K <= 6F, any F <= 85; with
g_max = 127 and s_one = 32, inputs after the first layer are <= 127 and F <= 170; else
``dtype=torch.float64``). Per layer (units as in ``pixelcnn``; config fields z_one, g_max,
s_one; s_max = 8 s_one - 1):

  acc  = W_q x + b_q                      one exact product over [patch | link], int64
  z    = requant(acc, m) in 1/z_one steps, clamped to [-8, 8]
  g    = (TANH[z_a] * SIG[z_b] * g_max + 2^23) >> 24          tables in Q12, |g| <= g_max
  h'   = clamp(h + clamp(requant(W_res g + b), +-254), +-127)   (h stream, 1/32 units)
  sk  += clamp(requant(W_skip g + b), +-4 s_max)                (skip, 1/s_one units)
  head : s = clamp(sk, 0, s_max) -> o = clamp(requant(W1 s + b), 0, s_max) -> logits (1/64 nat)

``forward_freqs`` computes every conditional of an image at once (teacher forcing);
``layer_v`` / ``layer_h`` / ``head`` compute one position at a time for the wavefront coder
(``codecs/pixel_image``). Both call the same ``_lin`` / ``_gate`` / ``_resid`` functions, and the
tests check that they give equal tables.
"""
from __future__ import annotations

import torch

from ..exact.intops import EXACT_LIMIT, exact_addmm, exact_matmul_signed, fixed_multiplier
from ..exact.tables import logits_to_freqs
from .charrnn import lut
from .pixelcnn import (A_MAX, BETA_BITS, H_ONE, LOGIT_MAX, LOGIT_ONE, MU_MAX, MU_MIN, MU_ONE,
                       MU_SCALE, T_N, T_OFF, T_ONE, U_IMG, PixelCNN, PixelCNNConfig)

SHIFT = 32      # fixed-point shift of every requantisation multiplier
W_MAX = 127     # int8 weights


def _quant_rows(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(O, K) float64 effective weights -> (int8 (O, K), scales (O,) float64)."""
    qmax = 2 ** (bits - 1) - 1
    m = w.abs().amax(1)
    s = torch.where(m > 0, m / qmax, torch.ones_like(m))
    return torch.clamp(torch.round(w / s[:, None]), -qmax, qmax).to(torch.int8), s


def _pack(t: dict, name: str, w_eff: torch.Tensor, bias: torch.Tensor | None, out_one: float,
          bits: int) -> None:
    q, s = _quant_rows(w_eff, bits)
    t[f"{name}.w"] = q
    b = bias.double() if bias is not None else torch.zeros(len(s), dtype=torch.float64)
    t[f"{name}.b"] = torch.round(b / s).to(torch.int64)
    t[f"{name}.m"] = fixed_multiplier(s * out_one, SHIFT)


@torch.no_grad()
def to_integer(model: PixelCNN) -> dict[str, torch.Tensor]:
    """Integer tensors of ``IntPixelCNN`` from a trained float model (once, on CPU)."""
    cfg, bits = model.cfg, model.cfg.weight_bits
    gm, so = cfg.g_max, cfg.s_one
    t: dict[str, torch.Tensor] = {}
    for i, L in enumerate(model.layers):
        first = i == 0
        u_in = U_IMG if first else 1 / gm
        u_h = U_IMG if first else 1 / H_ONE
        _pack(t, f"l{i}.v", (L.v.weight * L.v_mask).double().flatten(1) * u_in, L.v.bias,
              cfg.z_one, bits)
        wh = (L.h.weight * L.h_mask).double().flatten(1) * u_h
        wl = L.link.weight.double().flatten(1) / gm
        _pack(t, f"l{i}.h", torch.cat([wh, wl], 1), L.h.bias, cfg.z_one, bits)
        rm = L.res_mask.double().flatten(1)
        _pack(t, f"l{i}.r", L.res.weight.double().flatten(1) * rm / gm, L.res.bias, H_ONE, bits)
        _pack(t, f"l{i}.s", L.skip.weight.double().flatten(1) * rm / gm, L.skip.bias, so, bits)
    _pack(t, "head1", (model.head1.weight * model.m1).double().flatten(1) / so,
          model.head1.bias, so, bits)
    c = model.cfg.channels
    out_one = torch.full((model.head2.out_channels,), float(LOGIT_ONE), dtype=torch.float64)
    out_one[256 * c:256 * c + c] = MU_ONE * MU_SCALE   # Laplace means (laplace models only)
    out_one[256 * c + c:] = T_ONE              # Laplace log-rates
    _pack(t, "head2", (model.head2.weight * model.m2).double().flatten(1) / so,
          model.head2.bias, out_one, bits)
    if model.cfg.laplace:
        _pack(t, "linpred", (model.lin_pred * model.lp_mask).double().flatten(1) * 0.5, None,
              MU_ONE, bits)
    return t


def _unpack(t: dict, name: str, out_one) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of ``_pack``: (O, K) float64 effective weights and (O,) bias on the int grid."""
    s = t[f"{name}.m"].double() / 2.0**SHIFT / torch.as_tensor(out_one, dtype=torch.float64)
    return t[f"{name}.w"].double() * s[:, None], t[f"{name}.b"].double() * s


@torch.no_grad()
def to_float(cfg: PixelCNNConfig, t: dict[str, torch.Tensor]) -> PixelCNN:
    """The float64 ``PixelCNN`` whose weights are the integer model's (inverse of
    ``to_integer``: ``to_integer(to_float(cfg, t)) == t``). Its ``forward(p, quant=False)`` is
    the float model of the shipped weights: float activations, exact tanh / sigmoid, float
    softmax; ``quant=True`` is the QAT grid."""
    model = PixelCNN(cfg).double()
    gm, so = cfg.g_max, cfg.s_one
    for i, L in enumerate(model.layers):
        u_in = U_IMG if i == 0 else 1 / gm         # units of the v input and the h input
        u_h = U_IMG if i == 0 else 1 / H_ONE
        w, b = _unpack(t, f"l{i}.v", cfg.z_one)
        L.v.weight.copy_((w / u_in).view_as(L.v.weight))
        L.v.bias.copy_(b)
        w, b = _unpack(t, f"l{i}.h", cfg.z_one)
        k = L.h.weight[0].numel()
        L.h.weight.copy_((w[:, :k] / u_h).view_as(L.h.weight))
        L.link.weight.copy_((w[:, k:] * gm).view_as(L.link.weight))
        L.h.bias.copy_(b)
        for conv, key, one in ((L.res, "r", H_ONE), (L.skip, "s", so)):
            w, b = _unpack(t, f"l{i}.{key}", one)
            conv.weight.copy_((w * gm).view_as(conv.weight))
            conv.bias.copy_(b)
    w, b = _unpack(t, "head1", so)
    model.head1.weight.copy_((w * so).view_as(model.head1.weight))
    model.head1.bias.copy_(b)
    c = cfg.channels
    out_one = torch.full((model.head2.out_channels,), float(LOGIT_ONE), dtype=torch.float64)
    out_one[256 * c:256 * c + c] = MU_ONE * MU_SCALE
    out_one[256 * c + c:] = T_ONE
    w, b = _unpack(t, "head2", out_one)
    model.head2.weight.copy_((w * so).view_as(model.head2.weight))
    model.head2.bias.copy_(b)
    if cfg.laplace:
        w, _ = _unpack(t, "linpred", MU_ONE)
        model.lin_pred.copy_((w / 0.5).view_as(model.lin_pred))
    return model.eval()


class _Lin:
    """One integer linear map: int8 weights (as ``dtype``), int64 bias and multiplier.
    ``acc(x)`` is the exact product (no bias); ``out(acc)`` adds the bias and requantises:
    ``((acc + b) * m + 2^31) >> 32`` computed as ``(acc * m + off) >> 32``."""

    def __init__(self, t: dict, name: str, device, dtype, x_max: int):
        w = t[f"{name}.w"].to(device)
        self.w_t = w.to(dtype).T.contiguous()             # (K, M)
        b = t[f"{name}.b"].to(device, torch.int64)
        self.m = t[f"{name}.m"].to(device, torch.int64)
        self.off = b * self.m + (1 << (SHIFT - 1))
        self.x_max, self.dtype = x_max, dtype
        k = w.shape[1]
        self.bound = k * W_MAX * x_max        # sum of |terms| of one output of the full map
        if self.bound >= EXACT_LIMIT[dtype]:
            raise ValueError(f"{name}: no exact one-pass {dtype} product (K={k})")
        if (self.bound + int(b.abs().max())) * int(self.m.max()) + 2**31 >= 2**62:
            raise ValueError(f"{name}: requantisation bound exceeds int64")

    def _sub(self, **kw) -> "_Lin":
        sub = object.__new__(_Lin)
        sub.__dict__.update(self.__dict__)
        sub.__dict__.update(kw)
        return sub

    @staticmethod
    def stack(a: "_Lin", b: "_Lin") -> "_Lin":
        """Two maps of the same input as one (outputs of a, then of b)."""
        return a._sub(w_t=torch.cat([a.w_t, b.w_t], 1).contiguous(), m=torch.cat([a.m, b.m]),
                      off=torch.cat([a.off, b.off]))

    def rows(self, idx: list[int]) -> "_Lin":
        """The same map restricted to input columns ``idx`` (partial products)."""
        return self._sub(w_t=self.w_t[idx].contiguous())

    def perm(self, order: list[int]) -> "_Lin":
        """The same map with its outputs reordered."""
        return self._sub(w_t=self.w_t[:, order].contiguous(), m=self.m[order],
                         off=self.off[order])

    def prefix(self, k_in: int, m_out: int) -> "_Lin":
        """The first ``k_in`` inputs and first ``m_out`` outputs."""
        return self._sub(w_t=self.w_t[:k_in, :m_out].contiguous(), m=self.m[:m_out],
                         off=self.off[:m_out])

    def cols(self, sl: slice) -> "_Lin":
        """The same map restricted to outputs ``sl``."""
        return self._sub(w_t=self.w_t[:, sl].contiguous(), m=self.m[sl], off=self.off[sl])

    def acc(self, x: torch.Tensor) -> torch.Tensor:
        """(n, K) integers with |x| <= x_max -> (n, M) int64 exact products."""
        return exact_matmul_signed(x, self.w_t, x_max=self.x_max, w_max=W_MAX, dtype=self.dtype)

    def acc_part(self, x: torch.Tensor, partial: torch.Tensor | None = None) -> torch.Tensor:
        """For maps cut from one map by ``rows``: ``partial + x @ w_t`` in the float dtype,
        where ``partial`` (or None) is this function's result for other rows of the same map.
        Exact: together the parts are one output's terms, within the full map's ``bound``."""
        return exact_addmm(partial, x, self.w_t, bound=self.bound, dtype=self.dtype)

    def out(self, acc: torch.Tensor) -> torch.Tensor:
        return (acc * self.m + self.off) >> SHIFT

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.acc(x))


class IntPixelCNN:
    """Integer-exact Gated PixelCNN for coding (see the module docstring for the arithmetic)."""

    def __init__(self, cfg: PixelCNNConfig, tensors: dict[str, torch.Tensor],
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        self.cfg = cfg
        self.device = torch.device(device)
        self.dtype = dtype
        self.radii = cfg.radii
        self.F = cfg.hidden
        self.C = cfg.channels
        dev = self.device
        gm, self.s_max = cfg.g_max, cfg.s_max
        x_h = max(gm, A_MAX)                    # h input: h stream and link (gate outputs)
        self.v = [_Lin(tensors, f"l{i}.v", dev, dtype, 255 if i == 0 else gm)
                  for i in range(cfg.layers)]
        self.h = [_Lin(tensors, f"l{i}.h", dev, dtype, 255 if i == 0 else x_h)
                  for i in range(cfg.layers)]
        self.rs = [_Lin.stack(_Lin(tensors, f"l{i}.r", dev, dtype, gm),  # residual and
                              _Lin(tensors, f"l{i}.s", dev, dtype, gm))  # skip: one product
                   for i in range(cfg.layers)]
        # The coder's form of the horizontal stack. (1) Split: taps fixed while a pixel is
        # decoded (left columns, link; ``h_fix``) and centre taps that see its decoded
        # sub-pixels (``h_cur``). (2) Outputs reordered group by group ([a_0 b_0 a_1 b_1 ...],
        # [res_0 skip_0 res_1 skip_1 ...]) so that sub-pixel c computes only group c's
        # columns from input groups <= c (``_group``); by the masks nothing else feeds them,
        # and groups < c are kept from the earlier sub-pixels. Same integers, less work.
        F, C = self.F, self.C
        fg = F // C
        gate_perm = [k for g in range(C) for half in (0, F) for k in range(half + g * fg,
                                                                          half + (g + 1) * fg)]
        self.h_fix, self.h_cur, self.rs_g = [], [], []
        self._prefixes: dict[tuple, _Lin] = {}
        for i, r in enumerate(self.radii):
            cin = C if i == 0 else F
            k = cin * (r + 1)
            cur = [ci * (r + 1) + r for ci in range(cin)]
            fix = [ci * (r + 1) + j for ci in range(cin) for j in range(r)]
            hp = self.h[i].perm(gate_perm)
            self.h_fix.append(hp.rows(fix + list(range(k, k + F))))
            self.h_cur.append(hp.rows(cur))
            self.rs_g.append(self.rs[i].perm(gate_perm))
        # vertical stacks of layers >= 1 with the patch in (row, column, channel) order, as the
        # wavefront gathers it (the conv order is (channel, row, column)): same integers
        taps = [(r + 1) * (2 * r + 1) for r in self.radii]               # kh * kw per layer
        self.v_hwc = [None] + [self.v[i].rows([f * taps[i] + k for k in range(taps[i])
                                               for f in range(F)])
                               for i in range(1, len(self.radii))]
        self.head1 = _Lin(tensors, "head1", dev, dtype, self.s_max)
        self.head2 = _Lin(tensors, "head2", dev, dtype, self.s_max)
        lap = cfg.laplace
        self.head2_c = [self.head2.perm(list(range(256 * c, 256 * (c + 1))) + (
            [256 * self.C + c, 257 * self.C + c] if lap else [])) for c in range(self.C)]
        self.beta = beta_table(dev) if lap else None
        if lap:
            self.linpred = _Lin(tensors, "linpred", dev, dtype, 255)
            self.linpred_c = [self.linpred.cols(slice(c, c + 1)) for c in range(self.C)]
        self.k16 = torch.arange(256, device=dev, dtype=torch.int64) * MU_ONE
        sig, tanh = lut(dev, cfg.z_one)
        self.z_max = 8 * cfg.z_one                        # pre-activations clamped to +-8
        self.zn = len(sig)                                # 2 z_max + 1 table entries
        if self.zn != 2 * self.z_max + 1:
            raise ValueError("gate tables do not span the pre-activation clamp")
        # tanh(a) sigmoid(b) for every (a, b): the gate formula evaluated once per pair
        self.gate_tab = ((tanh[:, None] * sig[None, :] * gm + (1 << 23)) >> 24
                         ).reshape(-1).to(torch.int32)                          # (zn^2,)

    # --- shared arithmetic -------------------------------------------------------------
    def _tanh_sig(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        """Requantised pre-activations (1/z_one steps) -> tanh(a) sigmoid(b) in 1/g_max,
        |g| <= g_max, int32: ``(TANH[a] * SIG[b] * g_max + 2^23) >> 24`` read from ``gate_tab``
        (one gather)."""
        zm = self.z_max
        a, b = z_a.clamp(-zm, zm), z_b.clamp(-zm, zm)
        idx = torch.add(b, a, alpha=self.zn).add_(zm * self.zn + zm)
        return self.gate_tab.index_select(0, idx.reshape(-1)).view(idx.shape)

    def _update(self, r: torch.Tensor, sk: torch.Tensor, h: torch.Tensor | None, skip):
        """Residual and skip terms -> (new h stream, new skip sum), both clamped."""
        h_new = r if h is None else h + r.clamp(-2 * A_MAX, 2 * A_MAX)
        sk = sk.clamp(-4 * self.s_max, 4 * self.s_max)
        return h_new.clamp(-A_MAX, A_MAX), sk if skip is None else skip + sk

    def _gate(self, lin: _Lin, acc: torch.Tensor) -> torch.Tensor:
        """(n, 2F) exact accumulator of ``lin`` -> (n, F) gate output."""
        return self._tanh_sig(*lin.out(acc).chunk(2, dim=-1))

    def _resid(self, i: int, g: torch.Tensor, h: torch.Tensor | None, skip):
        """Gate output g (n, F) -> (new h stream (n, F), skip sum (n, F))."""
        return self._update(*self.rs[i](g).split(self.F, dim=-1), h, skip)

    def layer_v(self, i: int, patch: torch.Tensor) -> torch.Tensor:
        """Vertical stack of layer i: (n, K_v) patch -> (n, F) v."""
        return self._gate(self.v[i], self.v[i].acc(patch))

    def layer_v_hwc(self, i: int, patch: torch.Tensor) -> torch.Tensor:
        """``layer_v`` for i >= 1 with the (n, kh*kw*F) patch in (row, column, channel) order."""
        return self._gate(self.v_hwc[i], self.v_hwc[i].acc(patch))

    def layer_h(self, i: int, patch: torch.Tensor, link: torch.Tensor,
                h: torch.Tensor | None, skip):
        """Horizontal stack of layer i: (n, K_h) patch, (n, F) v from the row above, the
        incoming h stream (None for layer 0) -> (h stream, skip sum)."""
        g = self._gate(self.h[i], self.h[i].acc(torch.cat([patch, link], dim=-1)))
        return self._resid(i, g, h, skip)

    def layer_h_fixed(self, i: int, left: torch.Tensor, link: torch.Tensor) -> torch.Tensor:
        """Part of layer i's horizontal accumulator fixed while a pixel is decoded:
        (n, Cin*r) left taps (channel-major), (n, F) link -> (n, 2F) exact products, left in
        the accumulator dtype for ``layer_h_group`` to add the centre taps to."""
        return self.h_fix[i].acc_part(torch.cat([left, link], dim=-1))

    def layer_h_group(self, i: int, c: int, centre: torch.Tensor, fixed: torch.Tensor,
                      h: torch.Tensor, g: torch.Tensor, skip: torch.Tensor) -> None:
        """Channel group c of layer i's horizontal stack at the coder's positions, once the
        groups < c are done (by the masks, group c sees only groups <= c of its input and
        sub-pixels < c of the pixel, so earlier groups never change while later sub-pixels
        are decoded). Same integers as ``layer_h``'s group c.

        centre: layer 0: (n, C) the pixel's sub-pixels (later ones masked out by the
        weights); layer i > 0: (n, F) layer i-1's h stream with its groups <= c done.
        fixed: (n, 2F) ``layer_h_fixed`` of this layer. Written in place for group c:
        h (n, F) this layer's h stream, g (n, F) its gate outputs, skip (n, F) the skip sum
        over layers <= i (zero before layer 0)."""
        fg = self.F // self.C
        lo, hi = c * fg, (c + 1) * fg
        cur, rs = self._group(i, c)
        x = centre if i == 0 else centre[:, :hi]
        z = cur.out(cur.acc_part(x, fixed[:, 2 * lo:2 * hi]).to(torch.int64))   # [a_c b_c]
        g[:, lo:hi] = self._tanh_sig(z[:, :fg], z[:, fg:])
        r = rs(g[:, :hi])                                                        # [res_c skip_c]
        h[:, lo:hi], skip[:, lo:hi] = self._update(
            r[:, :fg], r[:, fg:], None if i == 0 else centre[:, lo:hi], skip[:, lo:hi])

    def _group(self, i: int, c: int) -> tuple["_Lin", "_Lin"]:
        """Layer i's maps restricted to channel group c's outputs (built once): the centre
        taps (inputs: all C sub-pixels for layer 0, groups <= c otherwise) and residual/skip
        (inputs: gate groups <= c)."""
        key = ("group", i, c)
        if key not in self._prefixes:
            fg = self.F // self.C
            cols = slice(2 * c * fg, 2 * (c + 1) * fg)
            k_in = self.C if i == 0 else (c + 1) * fg
            self._prefixes[key] = (self.h_cur[i].prefix(k_in, 2 * self.F).cols(cols),
                                   self.rs_g[i].prefix((c + 1) * fg, 2 * self.F).cols(cols))
        return self._prefixes[key]

    def head(self, skip: torch.Tensor, channel: int | None = None,
             nbrs: torch.Tensor | None = None) -> torch.Tensor:
        """(n, F) skip sum -> (n, C, 256) logits; with ``channel`` c: (n, (c+1) F/C) skip of
        groups <= c -> (n, 256) logits of channel c. ``nbrs``: (n, C*6) causal neighbour
        patch (q values, rows y-1..y x cols x-1..x+1) for the Laplace models' linear term."""
        s = skip.clamp(0, self.s_max)
        if channel is None:
            raw = self.head2(self.head1(s).clamp(0, self.s_max))
            c = self.C
            out = raw[:, :256 * c].reshape(-1, c, 256)
            if self.cfg.laplace:
                mu = self._mu(raw[:, 256 * c:257 * c], self.linpred(nbrs))
                return self._laplace(out, mu[..., None], raw[:, 257 * c:, None])
            return out.clamp(-LOGIT_MAX, LOGIT_MAX)
        n_c = s.shape[1]
        o = self._pre(self.head1, ("h1", channel), n_c, n_c)(s).clamp(0, self.s_max)
        raw = self._pre(self.head2_c[channel], ("h2", channel), n_c, 258 if self.beta is not None
                        else 256)(o)
        if self.cfg.laplace:
            mu = self._mu(raw[:, 256:257], self.linpred_c[channel](nbrs))
            return self._laplace(raw[:, :256], mu, raw[:, 257:])
        return raw.clamp(-LOGIT_MAX, LOGIT_MAX)

    @staticmethod
    def _mu(head_mu: torch.Tensor, lin: torch.Tensor) -> torch.Tensor:
        """Laplace mean (1/16 levels) from the head's part and the linear prediction."""
        return (head_mu.clamp(2 * MU_MIN, 2 * MU_MAX) + lin.clamp(2 * MU_MIN, 2 * MU_MAX)
                ).clamp(MU_MIN, MU_MAX)

    def _laplace(self, free: torch.Tensor, mu: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """free (..., 256) logits, mu and t (..., 1) -> free - |k - mu| exp(t) (1/64 nat)."""
        free = free.clamp(-4 * LOGIT_MAX, 4 * LOGIT_MAX)
        beta = self.beta[(t + T_OFF).clamp(0, T_N - 1)]
        # |16 k - mu| <= 4592 and beta < 2^21: the product fits int64 easily
        shift = BETA_BITS + 4 - 6                  # (1/16 level) * Q16 -> 1/64 nat
        para = ((self.k16 - mu).abs() * beta + (1 << (shift - 1))) >> shift
        return (free - para).clamp(-LOGIT_MAX, LOGIT_MAX)

    def _pre(self, lin: _Lin, key: tuple, k_in: int, m_out: int) -> _Lin:
        """``lin.prefix(k_in, m_out)``, built once per key."""
        if key not in self._prefixes:
            self._prefixes[key] = lin.prefix(k_in, m_out)
        return self._prefixes[key]

    # --- teacher forcing -----------------------------------------------------------------
    @torch.no_grad()
    def forward_freqs(self, p: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) pixels -> (N, C, H, W, 256) int64 frequency tables, all at once."""
        n, c, hh, ww = p.shape
        q = (2 * p.to(self.device, torch.int64) - 255).to(torch.int32)
        v = h = q
        hs = None
        skip = None
        for i, r in enumerate(self.radii):
            vp = _patches(torch.nn.functional.pad(v, (r, r, r, 0)), r + 1, 2 * r + 1)
            v = _chw(self.layer_v(i, vp.flatten(0, 2)), n, hh, ww)
            link = torch.nn.functional.pad(v, (0, 0, 1, 0))[:, :, :-1]
            link = link.permute(0, 2, 3, 1).flatten(0, 2)
            hp = _patches(torch.nn.functional.pad(h, (r, 0, 0, 0)), 1, r + 1).flatten(0, 2)
            hs, skip = self.layer_h(i, hp, link, hs, skip)
            h = _chw(hs, n, hh, ww)
        nbrs = None
        if self.cfg.laplace:
            nbrs = _patches(torch.nn.functional.pad(q, (1, 1, 1, 0)), 2, 3).flatten(0, 2)
        logits = self.head(skip, nbrs=nbrs).view(n, hh, ww, c, 256).permute(0, 3, 1, 2, 4)
        return logits_to_freqs(logits, self.cfg.freq_bits)


def beta_table(device: torch.device | str) -> torch.Tensor:
    """(256,) int64: ``round(2^16 exp((j - 160) / 32))``, built with ``decimal``."""
    from decimal import Decimal, getcontext
    getcontext().prec = 40
    vals = [int((Decimal(2**BETA_BITS) * (Decimal(j - T_OFF) / T_ONE).exp()).to_integral_value())
            for j in range(T_N)]
    return torch.tensor(vals, dtype=torch.int64, device=device)


def _patches(x: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """(N, Cin, H+kh-1, W+kw-1) -> (N, H, W, Cin*kh*kw) in conv weight order (Cin, kh, kw)."""
    u = x.unfold(2, kh, 1).unfold(3, kw, 1)                # (N, Cin, H, W, kh, kw)
    return u.permute(0, 2, 3, 1, 4, 5).flatten(3)


def _chw(x: torch.Tensor, n: int, h: int, w: int) -> torch.Tensor:
    """(n*h*w, F) int64 -> (n, F, h, w) int32."""
    return x.view(n, h, w, -1).permute(0, 3, 1, 2).to(torch.int32)

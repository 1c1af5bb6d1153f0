#!/usr/bin/env python3
"""The PyTorch half of the whole-training-step benchmarks (issue 14): one training step of each of
peco4j's trainers (MoCo v3, the VQGAN tokenizer, BEiT's masked image modeling, BEiT's fine-tuning),
written after the Java sources, with the timing rule of compare_torch.py. One case per process, so
that the peak RSS is the case's own; appends one JSON line
{case, threads, peer, seconds, images, rss_mib, params, flops}.

    OMP_NUM_THREADS=N /usr/bin/python3 bench/steps_torch.py N out.jsonl CASE   # time one case
    /usr/bin/python3 bench/steps_torch.py --list                               # the case names
    /usr/bin/python3 bench/steps_torch.py --check                              # parameter counts of every case, no timing
    ... N out.jsonl CASE --quick                                                # 1 warm-up step and 2 timed ones (a smoke test)

Inputs are random (torch.rand, seed 0) and made once, outside the timed step; data loading and
augmentation (but mixup/CutMix, which the Java step does) are not part of a step. A step is what one
step of the Java trainer does between batches: forward, loss, backward, clipping, the optimizers'
steps, moving averages, zero_grad. Java sources are named where each piece comes from.
"""
import json
import math
import random
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FMNIST_MEAN, FMNIST_STD = (0.2860,), (0.3530,)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def median_time(fn, quick=False):
    """StepBench.java's rule: warm up >= 3 steps and 1 s, then the median of >= 5 steps filling >= 2 s;
    a slow step (> 5 s, the 224-px cases on 2 cores) warms up 1 step and times 3."""
    start, warm, last = time.perf_counter(), 0, 0.0
    while warm < (1 if quick else 3) or (not quick and time.perf_counter() - start < 1.0):
        if not quick and warm >= 1 and last > SLOW:
            break
        t = time.perf_counter()
        fn()
        last = time.perf_counter() - t
        warm += 1
    runs, start = [], time.perf_counter()
    while len(runs) < (2 if quick else 3 if last > SLOW else 5) or (not quick and time.perf_counter() - start < 2.0):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    runs.sort()
    return runs[len(runs) // 2]


SLOW = 5.0  # seconds: a step slower than this is timed with fewer repetitions


def count(params):
    return sum(p.numel() for p in params)


def trainable(module):
    return count(p for p in module.parameters() if p.requires_grad)


def normalize_images(x01, mean, std):
    m = torch.tensor(mean).view(1, -1, 1, 1)
    s = torch.tensor(std).view(1, -1, 1, 1)
    return (x01 - m) / s


# ---------------------------------------------------------------------------------------------
# ViT (pipeline/.../model/VisionTransformer.java, nn/Block.java, nn/Attention.java,
# nn/RelativePositionBias.java, pretrain/MaskedImageModel.java)
# ---------------------------------------------------------------------------------------------

def rel_pos_index(wh, ww):
    """RelativePositionBias.index: (N+1)x(N+1) rows of a ((2Wh-1)(2Ww-1)+3, heads) table."""
    n, t = wh * ww, (2 * wh - 1) * (2 * ww - 1) + 3
    idx = torch.zeros(n + 1, n + 1, dtype=torch.long)
    ys, xs = torch.arange(n) // ww, torch.arange(n) % ww
    dy = ys[:, None] - ys[None, :] + wh - 1
    dx = xs[:, None] - xs[None, :] + ww - 1
    idx[1:, 1:] = dy * (2 * ww - 1) + dx
    idx[0, :] = t - 3
    idx[:, 0] = t - 2
    idx[0, 0] = t - 1
    return idx


class RelativePositionBias(nn.Module):
    def __init__(self, window, heads):
        super().__init__()
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2 + 3, heads))
        self.register_buffer("relative_position_index", rel_pos_index(window, window))

    def forward(self):
        side = self.relative_position_index.shape[0]
        return self.relative_position_bias_table[self.relative_position_index.view(-1)].view(side, side, -1).permute(2, 0, 1)


def sincos_pos_embed(h, w, dim):
    """VisionTransformer.sinCosPositionEmbedding (MoCo v3's build_2d_sincos_position_embedding)."""
    q = dim // 4
    m = torch.arange(h * w, dtype=torch.float64)
    i, j = torch.div(m, h, rounding_mode="floor"), m % h
    omega = 1.0 / 10000 ** (torch.arange(q, dtype=torch.float64) / q)
    oi, oj = i[:, None] * omega[None, :], j[:, None] * omega[None, :]
    pe = torch.cat([torch.sin(oi), torch.cos(oi), torch.sin(oj), torch.cos(oj)], 1)
    return torch.cat([torch.zeros(1, dim, dtype=torch.float64), pe], 0).float().unsqueeze(0)


class Attention(nn.Module):
    """nn/Attention.java: qkv (bias QKV: timm's; QV: BEiT's q_bias and v_bias), optional own relative table."""

    def __init__(self, dim, heads, qkv_bias, window):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias == "qkv")
        if qkv_bias == "qv":
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.q_bias = self.v_bias = None
        self.rel = RelativePositionBias(window, heads) if window else None
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, shared_bias=None):
        b, n, c = x.shape
        bias = self.qkv.bias
        if self.q_bias is not None:
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        rel = self.rel() if self.rel is not None else None
        bias = shared_bias if rel is None else rel if shared_bias is None else rel + shared_bias
        if bias is not None:
            attn = attn + bias.unsqueeze(0)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))


def drop_path(x, p, training):
    if p == 0 or not training:
        return x
    keep = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype).bernoulli_(1 - p)
    return x * keep / (1 - p)


class Block(nn.Module):
    """nn/Block.java: x + DropPath(g1 * Attn(LN(x))); x + DropPath(g2 * MLP(LN(x))), LN eps 1e-6, exact GELU."""

    def __init__(self, dim, heads, mlp_ratio, qkv_bias, dpr, layer_scale, window):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, qkv_bias, window)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.gamma_1 = nn.Parameter(layer_scale * torch.ones(dim)) if layer_scale > 0 else None
        self.gamma_2 = nn.Parameter(layer_scale * torch.ones(dim)) if layer_scale > 0 else None
        self.dpr = dpr

    def forward(self, x, shared_bias=None):
        a = self.attn(self.norm1(x), shared_bias)
        x = x + drop_path(a if self.gamma_1 is None else a * self.gamma_1, self.dpr, self.training)
        m = self.mlp(self.norm2(x))
        return x + drop_path(m if self.gamma_2 is None else m * self.gamma_2, self.dpr, self.training)


class ViT(nn.Module):
    """VisionTransformer.java (and MaskedImageModel.java when vocab > 0: mask_token, lm_head).

    pos: 'learned' | 'sincos' (a buffer) | 'none'; relpos: 'none' | 'shared' | 'per_block';
    pool: 'token' (final norm, cls token) | 'avg' (mean of patch tokens, fc_norm); qkv_bias: 'qkv' | 'qv'.
    """

    def __init__(self, img, patch, in_chans, dim, depth, heads, mlp_ratio=4.0, num_classes=0, drop_path_rate=0.0,
                 layer_scale=0.0, pos="learned", relpos="none", pool="token", qkv_bias="qv", vocab=0):
        super().__init__()
        self.grid, self.pool, self.depth = img // patch, pool, depth
        n = self.grid ** 2
        self.patch_embed = nn.Conv2d(in_chans, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        if pos == "learned":
            self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        elif pos == "sincos":
            self.register_buffer("pos_embed", sincos_pos_embed(self.grid, self.grid, dim))
        else:
            self.pos_embed = None
        self.rel_pos_bias = RelativePositionBias(self.grid, heads) if relpos == "shared" else None
        window = self.grid if relpos == "per_block" else 0
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, qkv_bias, drop_path_rate * i / (depth - 1) if depth > 1 else 0.0,
                                          layer_scale, window) for i in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6) if pool == "token" else None
        self.fc_norm = nn.LayerNorm(dim, eps=1e-6) if pool == "avg" else None
        self.head = nn.Linear(dim, num_classes) if num_classes > 0 else None
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim)) if vocab > 0 else None
        self.lm_head = nn.Linear(dim, vocab) if vocab > 0 else None
        for m in self.modules():                       # init does not matter for speed; something sane
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for p in (self.cls_token, self.mask_token):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)

    def embed(self, x, mask=None):
        t = self.patch_embed(x).flatten(2).transpose(1, 2)                          # (B, N, D)
        if mask is not None:
            w = mask.unsqueeze(-1).type_as(t)
            t = t * (1 - w) + self.mask_token * w
        t = torch.cat((self.cls_token.expand(t.shape[0], -1, -1), t), 1)
        return t if self.pos_embed is None else t + self.pos_embed

    def forward_features(self, x, mask=None):
        t = self.embed(x, mask)
        bias = self.rel_pos_bias() if self.rel_pos_bias is not None else None
        for blk in self.blocks:
            t = blk(t, bias)
        return t if self.norm is None else self.norm(t)

    def forward_head(self, tokens, pre_logits=False):
        pooled = self.fc_norm(tokens[:, 1:].mean(1)) if self.pool == "avg" else tokens[:, 0]
        return pooled if pre_logits or self.head is None else self.head(pooled)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    def forward_mim(self, x, mask):
        """MaskedImageModel.forward: lm_head of the masked patch tokens (M, K), batch-major then row-major."""
        return self.lm_head(self.forward_features(x, mask)[:, 1:][mask])

    def forward_intermediates(self, x, indices):
        """forwardIntermediates(x, indices, norm=false, withCls=false): token maps (B, N, D) after the given blocks."""
        at = [i % self.depth for i in indices]
        out, t = {}, self.embed(x)
        bias = self.rel_pos_bias() if self.rel_pos_bias is not None else None
        for b in range(max(at) + 1):
            t = self.blocks[b](t, bias)
            if b in at:
                out[b] = t[:, 1:]
        return [out[i] for i in at]


def moco_vit(img, patch, in_chans, width, depth, heads, mlp_ratio):
    """VisionTransformer.Config.mocoV3(...).withInChans(c).withMlpRatio(r): sin-cos positions, timm's qkv bias, cls token after norm."""
    return ViT(img, patch, in_chans, width, depth, heads, mlp_ratio, pos="sincos", qkv_bias="qkv", pool="token")


def weight_decay_groups(model, lr, wd, rel_table_decays):
    """VisionTransformer.weightDecayGroups / MaskedImageModel.noWeightDecay: no decay for 1-d, biases, cls_token, pos_embed."""
    decay, no = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        skip = p.dim() == 1 or n.endswith(".bias") or n in ("cls_token", "pos_embed")
        if not rel_table_decays and n.endswith("relative_position_bias_table"):
            skip = True
        (no if skip else decay).append(p)
    return [{"params": decay, "lr": lr, "weight_decay": wd}, {"params": no, "lr": lr, "weight_decay": 0.0}]


def layer_decay_groups(model, lr, wd, decay):
    """finetune/LayerDecay.groups: lr x decay^(L+1-id), id 0 for cls/pos/patch_embed, k+1 for blocks.k, L+1 else;
    no weight decay for 1-d, biases, pos_embed, cls_token (relative tables decay: --decay-rel-pos default true)."""
    depth, groups = model.depth, {}
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if n in ("cls_token", "mask_token", "pos_embed") or n.startswith("patch_embed."):
            i = 0
        elif n.startswith("blocks."):
            i = int(n.split(".")[1]) + 1
        else:
            i = depth + 1
        no = p.dim() == 1 or n.endswith(".bias") or n in ("pos_embed", "cls_token")
        g = groups.setdefault((i, no), {"params": [], "lr": lr * decay ** (depth + 1 - i), "weight_decay": 0.0 if no else wd})
        g["params"].append(p)
    return list(groups.values())


# ---------------------------------------------------------------------------------------------
# MoCo v3 (perceptual/MocoV3.java, MocoTrainer.java)
# ---------------------------------------------------------------------------------------------

def moco_mlp(layers, d_in, hidden, d_out, last_bn):
    """MocoV3.mlp: Linear (no bias) -> BN -> ReLU per hidden layer; the last Linear, then BN without affine if last_bn."""
    mods = []
    for l in range(layers):
        d1, d2 = d_in if l == 0 else hidden, d_out if l == layers - 1 else hidden
        mods.append(nn.Linear(d1, d2, bias=False))
        if l < layers - 1:
            mods += [nn.BatchNorm1d(d2), nn.ReLU()]
        elif last_bn:
            mods.append(nn.BatchNorm1d(d2, affine=False))
    return nn.Sequential(*mods)


class MocoV3(nn.Module):
    def __init__(self, vit_args, dim, mlp_dim, temperature, stop_grad_conv1):
        super().__init__()
        self.t = temperature
        self.base_encoder = moco_vit(*vit_args)
        width = vit_args[3]
        self.base_head = moco_mlp(3, width, mlp_dim, dim, True)
        self.momentum_encoder = moco_vit(*vit_args)
        self.momentum_head = moco_mlp(3, width, mlp_dim, dim, True)
        self.predictor = moco_mlp(2, dim, mlp_dim, dim, False)
        with torch.no_grad():
            for a, b in ((self.base_encoder, self.momentum_encoder), (self.base_head, self.momentum_head)):
                for pa, pb in zip(a.parameters(), b.parameters()):
                    pb.copy_(pa)
                    pb.requires_grad_(False)
        if stop_grad_conv1:
            self.base_encoder.patch_embed.weight.requires_grad_(False)
            self.base_encoder.patch_embed.bias.requires_grad_(False)

    def trainable(self):
        return [p for m in (self.base_encoder, self.base_head, self.predictor) for p in m.parameters() if p.requires_grad]

    @torch.no_grad()
    def update_momentum(self, m):
        for a, b in ((self.base_encoder, self.momentum_encoder), (self.base_head, self.momentum_head)):
            for pa, pb in zip(a.parameters(), b.parameters()):
                pb.mul_(m).add_(pa.detach(), alpha=1 - m)

    def contrastive(self, q, k):
        q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
        logits = q @ k.t() / self.t
        return F.cross_entropy(logits, torch.arange(q.shape[0])) * (2 * self.t)

    def forward(self, x1, x2, m):
        q1 = self.predictor(self.base_head(self.base_encoder(x1)))
        q2 = self.predictor(self.base_head(self.base_encoder(x2)))
        with torch.no_grad():
            self.update_momentum(m)
            k1 = self.momentum_head(self.momentum_encoder(x1))
            k2 = self.momentum_head(self.momentum_encoder(x2))
        return self.contrastive(q1, k2) + self.contrastive(q2, k1)


# ---------------------------------------------------------------------------------------------
# VQGAN (tokenizer/VQModel.java, Autoencoder.java, VectorQuantizer.java, NLayerDiscriminator.java)
# ---------------------------------------------------------------------------------------------

class VQConfig:
    def __init__(self, ch, ch_mult, num_res_blocks, attn, in_channels, out_ch, z_channels, embed_dim, n_embed, beta, groups, disc_ndf,
                 disc_layers):
        self.__dict__.update(locals())
        del self.__dict__["self"]

    @staticmethod
    def small(channels):
        """VQModel.Config.small: f 4, widths 16/32/32, 1 res block, attention at the code grid, z/code 32, 256 codes, 8 groups, 2-layer D."""
        return VQConfig(16, (1, 2, 2), 1, (False, False, True), channels, channels, 32, 32, 256, 0.25, 8, 32, 2)

    @staticmethod
    def vqgan_f16():
        """VQModel.Config.vqganF16: taming's ImageNet f16 (attention at nominal resolution 16 of 256: the last level), 8192 codes."""
        return VQConfig(128, (1, 1, 2, 2, 4), 2, (False, False, False, False, True), 3, 3, 256, 256, 8192, 0.25, 32, 64, 3)


def gn(cfg, c):
    return nn.GroupNorm(cfg.groups, c, eps=1e-6)


class ResnetBlock(nn.Module):
    def __init__(self, cfg, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = gn(cfg, cin), nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2, self.conv2 = gn(cfg, cout), nn.Conv2d(cout, cout, 3, 1, 1)   # dropout 0 in both presets
        self.nin_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.nin_shortcut is None else self.nin_shortcut(x)) + h


class AttnBlock(nn.Module):
    def __init__(self, cfg, c):
        super().__init__()
        self.norm = gn(cfg, c)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        b, c, h, w = x.shape
        n = self.norm(x)
        q = self.q(n).reshape(b, c, h * w).permute(0, 2, 1)                       # (B, HW, C)
        k = self.k(n).reshape(b, c, h * w)                                          # (B, C, HW)
        v = self.v(n).reshape(b, c, h * w).permute(0, 2, 1)
        a = torch.bmm(q, k).mul(c ** -0.5).softmax(-1)                             # (B, HW, HW)
        o = torch.bmm(a, v).permute(0, 2, 1).reshape(b, c, h, w)
        return x + self.proj_out(o)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Level(nn.Module):
    def __init__(self):
        super().__init__()
        self.block, self.attn, self.resample = nn.ModuleList(), nn.ModuleList(), None

    def forward(self, x):
        for i, blk in enumerate(self.block):
            x = blk(x)
            if len(self.attn):
                x = self.attn[i](x)
        return x if self.resample is None else self.resample(x)


class Mid(nn.Module):
    def __init__(self, cfg, c):
        super().__init__()
        self.block_1, self.attn_1, self.block_2 = ResnetBlock(cfg, c, c), AttnBlock(cfg, c), ResnetBlock(cfg, c, c)

    def forward(self, x):
        return self.block_2(self.attn_1(self.block_1(x)))


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.conv_in = nn.Conv2d(cfg.in_channels, cfg.ch, 3, 1, 1)
        self.down, cin = nn.ModuleList(), cfg.ch
        for l, mult in enumerate(cfg.ch_mult):
            level, cout = Level(), cfg.ch * mult
            for _ in range(cfg.num_res_blocks):
                level.block.append(ResnetBlock(cfg, cin, cout))
                cin = cout
                if cfg.attn[l]:
                    level.attn.append(AttnBlock(cfg, cin))
            if l != len(cfg.ch_mult) - 1:
                level.resample = Downsample(cin)
            self.down.append(level)
        self.mid, self.norm_out = Mid(cfg, cin), gn(cfg, cin)
        self.conv_out = nn.Conv2d(cin, cfg.z_channels, 3, 1, 1)

    def forward(self, x):
        h = self.conv_in(x)
        for level in self.down:
            h = level(h)
        return self.conv_out(F.silu(self.norm_out(self.mid(h))))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        cin = cfg.ch * cfg.ch_mult[-1]
        self.conv_in = nn.Conv2d(cfg.z_channels, cin, 3, 1, 1)
        self.mid = Mid(cfg, cin)
        levels = [None] * len(cfg.ch_mult)
        for l in reversed(range(len(cfg.ch_mult))):
            level, cout = Level(), cfg.ch * cfg.ch_mult[l]
            for _ in range(cfg.num_res_blocks + 1):
                level.block.append(ResnetBlock(cfg, cin, cout))
                cin = cout
                if cfg.attn[l]:
                    level.attn.append(AttnBlock(cfg, cin))
            if l != 0:
                level.resample = Upsample(cin)
            levels[l] = level
        self.up = nn.ModuleList(levels)
        self.norm_out = gn(cfg, cin)
        self.conv_out = nn.Conv2d(cin, cfg.out_ch, 3, 1, 1)

    def forward(self, z):
        h = self.mid(self.conv_in(z))
        for level in reversed(self.up):
            h = level(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class VectorQuantizer(nn.Module):
    """VectorQuantizer.java with Options.TAMING (no lookup dim, no cosine, no EMA, no k-means, no restarts), loss form PAPER."""

    def __init__(self, n_embed, dim, beta):
        super().__init__()
        self.beta = beta
        self.embedding = nn.Embedding(n_embed, dim)
        nn.init.uniform_(self.embedding.weight, -1.0 / n_embed, 1.0 / n_embed)

    @torch.no_grad()
    def nearest(self, flat):
        e = self.embedding.weight
        d = flat.square().sum(1, keepdim=True) + e.square().sum(1) - 2 * flat @ e.t()
        return d.argmin(1)

    def forward(self, z):
        b, d, h, w = z.shape
        zl = z.permute(0, 2, 3, 1)
        idx = self.nearest(zl.reshape(-1, d).detach())
        zq = self.embedding(idx).view(b, h, w, d)
        loss = self.beta * (zq.detach() - zl).square().mean() + (zq - zl.detach()).square().mean()
        st = zl + (zq - zl).detach()
        return st.permute(0, 3, 1, 2), loss, idx.view(b, h, w)


class NLayerDiscriminator(nn.Module):
    """pix2pix's PatchGAN as taming's: 4x4 convs, BatchNorm (no bias) between, LeakyReLU 0.2."""

    def __init__(self, cin, ndf, layers):
        super().__init__()
        mods, mult = [nn.Conv2d(cin, ndf, 4, 2, 1), nn.LeakyReLU(0.2)], 1
        for n in range(1, layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            mods += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2 if n < layers else 1, 1, bias=False), nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2)]
        mods.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.main = nn.Sequential(*mods)

    def forward(self, x):
        return self.main(x)


class VQModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.encoder, self.decoder = Encoder(cfg), Decoder(cfg)
        self.loss = nn.Module()
        self.loss.discriminator = NLayerDiscriminator(cfg.out_ch, cfg.disc_ndf, cfg.disc_layers)
        self.quantize = VectorQuantizer(cfg.n_embed, cfg.embed_dim, cfg.beta)
        self.quant_conv = nn.Conv2d(cfg.z_channels, cfg.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(cfg.embed_dim, cfg.z_channels, 1)

    def encode(self, x):
        return self.quantize(self.quant_conv(self.encoder(x)))

    def decode(self, q):
        return self.decoder(self.post_quant_conv(q))

    def autoencoder_parameters(self):
        return [p for n, p in self.named_parameters() if not n.startswith("loss.")]

    def counts(self):
        return {"encoder": count(self.encoder.parameters()), "decoder": count(self.decoder.parameters()),
                "quantize": count(self.quantize.parameters()),
                "quant_convs": count(self.quant_conv.parameters()) + count(self.post_quant_conv.parameters()),
                "discriminator": count(self.loss.parameters())}


class PerceptualLoss:
    """PerceptualLoss.java with FeatureNet.vit: a frozen MoCo-v3 ViT, its blocks evenlySpaced(depth, min(4, depth)) without
    cls and final norm, 'unit' norm (eps 1e-10), sum over channels, mean over batch and positions, summed over taps."""

    def __init__(self, vit, mean, std):
        self.vit, self.mean, self.std = vit.eval(), mean, std
        for p in vit.parameters():
            p.requires_grad_(False)
        n = min(4, vit.depth)
        self.blocks = [(i + 1) * vit.depth // n - 1 for i in range(n)]

    def features(self, x01):
        return self.vit.forward_intermediates(normalize_images(x01, self.mean, self.std), self.blocks)

    @staticmethod
    def unit(f):
        return f / (f.square().sum(2, keepdim=True).sqrt() + 1e-10)

    def __call__(self, x, y):
        fx = self.features(x)
        with torch.no_grad():
            fy = self.features(y)
        total = None
        for a, b in zip(fx, fy):
            d = (self.unit(a) - self.unit(b).detach()).square().sum(2).mean()
            total = d if total is None else total + d
        return total


# ---------------------------------------------------------------------------------------------
# BEiT's block-wise masking (pretrain/MaskingGenerator.java = BEiT's masking_generator.py)
# ---------------------------------------------------------------------------------------------

def beit_mask(rng, grid, num_masking, min_per_block, max_per_block, min_aspect=0.3):
    mask = np.zeros((grid, grid), dtype=bool)
    lo, hi = math.log(min_aspect), math.log(1 / min_aspect)
    count = 0
    while count < num_masking:
        budget = min(num_masking - count, max_per_block)
        delta = 0
        for _ in range(10):
            area = rng.uniform(min_per_block, budget)
            aspect = math.exp(rng.uniform(lo, hi))
            h, w = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
            if w < grid and h < grid:
                top, left = rng.randint(0, grid - h), rng.randint(0, grid - w)
                fresh = h * w - int(mask[top:top + h, left:left + w].sum())
                if 0 < fresh <= budget:
                    delta += fresh
                    mask[top:top + h, left:left + w] = True
            if delta > 0:
                break
        if delta == 0:
            break
        count += delta
    return mask.reshape(-1)


def beit_masking_config(grid):
    """MaskingGenerator.Config.beit with the pretrain defaults: round(N 75/196) masked, blocks >= max(1, round(N 16/196)), aspect 0.3."""
    n = grid * grid
    m = int(math.floor(n * 75 / 196 + 0.5))
    return m, max(1, int(math.floor(n * 16 / 196 + 0.5))), m


# ---------------------------------------------------------------------------------------------
# mixup / CutMix (finetune/Mixup.java, timm's batch mode) and the soft-target CE
# ---------------------------------------------------------------------------------------------

def mixup(rng, x, labels, classes, mix_alpha=0.8, cut_alpha=1.0, prob=1.0, switch_prob=0.5, smoothing=0.1):
    lam, cut = 1.0, False
    if rng.random_sample() < prob:
        cut = rng.random_sample() < switch_prob
        lam = float(rng.beta(cut_alpha, cut_alpha) if cut else rng.beta(mix_alpha, mix_alpha))
    images = x
    if lam != 1:
        flipped = x.flip(0)
        if cut:
            h, w = x.shape[2], x.shape[3]
            r = math.sqrt(1 - lam)
            ch, cw = int(h * r), int(w * r)
            cy, cx = rng.randint(0, h), rng.randint(0, w)
            yl, yh = min(max(cy - ch // 2, 0), h), min(max(cy + ch // 2, 0), h)
            xl, xh = min(max(cx - cw // 2, 0), w), min(max(cx + cw // 2, 0), w)
            box = torch.zeros(1, 1, h, w)
            box[:, :, yl:yh, xl:xh] = 1
            images = x * (1 - box) + flipped * box
            lam = 1 - (yh - yl) * (xh - xl) / (h * w)
        else:
            images = x * lam + flipped * (1 - lam)
    off = smoothing / classes
    y = torch.full((x.shape[0], classes), off).scatter_(1, labels.view(-1, 1), 1 - smoothing + off)
    return images, y * lam + y.flip(0) * (1 - lam)


def soft_target_ce(logits, target):
    return torch.sum(-target * F.log_softmax(logits, dim=-1), dim=-1).mean()


# ---------------------------------------------------------------------------------------------
# The cases. Each builder returns (step, images per step, trainable parameters, per-network counts);
# with build_only it returns before making inputs and optimizers.
# ---------------------------------------------------------------------------------------------

MOCO_SMALL = dict(vit=(28, 7, 1, 96, 4, 4, 2.0), dim=128, mlp_dim=512, batch=128, mean=FMNIST_MEAN, std=FMNIST_STD)
MOCO_B16 = dict(vit=(224, 16, 3, 768, 12, 12, 4.0), dim=256, mlp_dim=4096, batch=8, mean=IMAGENET_MEAN, std=IMAGENET_STD)
STOP_GRAD_CONV1 = False      # train-perceptual's --stop-grad-conv1 default (MocoTrainer; MoCo v3 itself freezes it for ViT-B)


def moco_case(c, build_only=False):
    """MocoTrainer forward/update: symmetric contrastive loss, momentum 0.99 applied before the keys, AdamW (0.9, 0.999) wd 0.1, zero_grad."""
    moco = MocoV3(c["vit"], c["dim"], c["mlp_dim"], 0.2, STOP_GRAD_CONV1)
    params = moco.trainable()
    counts = {"base_encoder_trainable": trainable(moco.base_encoder), "base_encoder": count(moco.base_encoder.parameters()),
              "base_head": count(moco.base_head.parameters()), "predictor": count(moco.predictor.parameters()),
              "momentum_encoder": count(moco.momentum_encoder.parameters()), "momentum_head": count(moco.momentum_head.parameters())}
    if build_only:
        return None, c["batch"], count(params), counts
    img, ch = c["vit"][0], c["vit"][2]
    v1 = normalize_images(torch.rand(c["batch"], ch, img, img), c["mean"], c["std"])
    v2 = normalize_images(torch.rand(c["batch"], ch, img, img), c["mean"], c["std"])
    opt = torch.optim.AdamW([{"params": params, "lr": 3e-3 * c["batch"] / 256, "weight_decay": 0.1}], betas=(0.9, 0.999), eps=1e-8)
    moco.train()

    def step():
        loss = moco(v1, v2, 0.99)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step, c["batch"], count(params), counts


def tokenizer_case(vq_cfg, moco_vit_args, batch, mean, std, build_only=False):
    """TokenizerTrainer.forward + Optimizers.step with the GAN on from step 0 (disc start 0): l1 pixels on [-1, 1], perceptual 1.0,
    VQ 1.0, -mean D(x_rec) with D frozen under taming's adaptive weight x 0.8, hinge D loss on detached images; one backward;
    Adam(0.5, 0.9) lr 1e-3 for the autoencoder with its codebook and for D."""
    model = VQModel(vq_cfg)
    perceptual_vit = moco_vit(*moco_vit_args)
    counts = dict(model.counts())
    counts["perceptual_net_frozen"] = count(perceptual_vit.parameters())
    total_trainable = count(model.parameters())
    if build_only:
        return None, batch, total_trainable, counts
    perceptual = PerceptualLoss(perceptual_vit, mean, std)
    d = model.loss.discriminator
    betas = (0.5, 0.9)
    opt_ae = torch.optim.Adam(model.autoencoder_parameters(), lr=1e-3, betas=betas, eps=1e-8)
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-3, betas=betas, eps=1e-8)
    size = moco_vit_args[0]
    x01 = torch.rand(batch, vq_cfg.in_channels, size, size)
    last_layer = model.decoder.conv_out.weight
    model.train()

    def step():
        x = x01 * 2 - 1
        q, vq_loss, _ = model.encode(x)
        xrec = model.decode(q)
        nll = (x - xrec).abs().mean()
        nll = nll + perceptual((xrec + 1) * 0.5, x01) * 1.0
        total = nll + vq_loss * 1.0
        for p in d.parameters():
            p.requires_grad_(False)
        g = -d(xrec).mean()
        for p in d.parameters():
            p.requires_grad_(True)
        a = torch.autograd.grad(nll, last_layer, retain_graph=True)[0].norm().item()
        b = torch.autograd.grad(g, last_layer, retain_graph=True)[0].norm().item()
        w = min(max(a / (b + 1e-4), 0.0), 1e4) * 0.8
        dl = 0.5 * (F.relu(1 - d(x.detach())).mean() + F.relu(1 + d(xrec.detach())).mean())
        total = total + g * w + dl
        total.backward()
        opt_ae.step()
        opt_ae.zero_grad(set_to_none=True)
        opt_d.step()
        opt_d.zero_grad(set_to_none=True)
    return step, batch, total_trainable, counts


def mim_case(vit_kwargs, tok_cfg, batch, in_chans, mean, std, build_only=False):
    """MimTrainer.step + update: the frozen tokenizer's codes of the [0, 1] view under no_grad (eval), the MIM logits of the masked
    patches, CE, argmax accuracy; clip_grad_norm 3.0; AdamW (0.9, 0.999) wd 0.05 with BEiT's groups (relative table and mask_token decay)."""
    model = ViT(**vit_kwargs)
    tok = VQModel(tok_cfg)
    counts = {"backbone": count(model.parameters()) - count(model.lm_head.parameters()), "lm_head": count(model.lm_head.parameters()),
              "tokenizer_frozen": count(tok.parameters()) - count(tok.loss.parameters()),
              "tokenizer_discriminator_unused": count(tok.loss.parameters())}
    if build_only:
        return None, batch, count(model.parameters()), counts
    tok.eval()
    for p in tok.parameters():
        p.requires_grad_(False)
    grid, img = model.grid, vit_kwargs["img"]
    rng = random.Random(0)
    m, lo, hi = beit_masking_config(grid)
    masks = [torch.from_numpy(np.stack([beit_mask(rng, grid, m, lo, hi) for _ in range(batch)])) for _ in range(4)]
    view01 = torch.rand(batch, in_chans, img, img)
    x = normalize_images(view01, mean, std)
    opt = torch.optim.AdamW(weight_decay_groups(model, 6e-3 * batch / 256, 0.05, True), betas=(0.9, 0.999), eps=1e-8)
    model.train()
    it = [0]

    def step():
        mask = masks[it[0] % len(masks)]
        it[0] += 1
        out = model.forward_mim(x, mask)
        with torch.no_grad():
            labels = tok.encode(view01 * 2 - 1)[2].reshape(batch, -1)[mask]
        loss = F.cross_entropy(out, labels)
        (out.detach().argmax(1) == labels).sum().item()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 3.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step, batch, count(model.parameters()), counts


def finetune_case(vit_kwargs, batch, classes, layer_decay, mean, std, build_only=False):
    """FineTuner forward/update: mixup 0.8 / CutMix 1.0 (prob 1, switch 0.5, smoothing 0.1), soft-target CE, argmax accuracy;
    no clipping (--clip-grad 0); AdamW (0.9, 0.999) wd 0.05 with layer-wise lr decay."""
    model = ViT(**vit_kwargs)
    counts = {"backbone": count(model.parameters()) - count(model.head.parameters()), "head": count(model.head.parameters())}
    if build_only:
        return None, batch, count(model.parameters()), counts
    img, ch = vit_kwargs["img"], vit_kwargs["in_chans"]
    x = normalize_images(torch.rand(batch, ch, img, img), mean, std)
    labels = torch.randint(0, classes, (batch,))
    opt = torch.optim.AdamW(layer_decay_groups(model, 4e-3 * batch / 256, 0.05, layer_decay), betas=(0.9, 0.999), eps=1e-8)
    rng = np.random.RandomState(0)
    model.train()

    def step():
        images, targets = mixup(rng, x, labels, classes)
        logits = model(images)
        loss = soft_target_ce(logits, targets)
        (logits.detach().argmax(1) == labels).sum().item()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step, batch, count(model.parameters()), counts


def mim_vit(img, patch, in_chans, dim, depth, heads, mlp_ratio, vocab):
    """PretrainConfig.modelConfig / MaskedImageModel.Config.pretraining: shared relative bias, no absolute positions,
    drop path 0.1, LayerScale 0.1, BEiT's q/v bias, final norm, mask_token and lm_head."""
    return dict(img=img, patch=patch, in_chans=in_chans, dim=dim, depth=depth, heads=heads, mlp_ratio=mlp_ratio, drop_path_rate=0.1,
                layer_scale=0.1, pos="none", relpos="shared", pool="token", qkv_bias="qv", vocab=vocab)


def finetune_vit(img, patch, in_chans, dim, depth, heads, mlp_ratio, classes):
    """FinetuneConfig.modelConfig from scratch: a relative table per block, no absolute positions, mean pooling + fc_norm,
    drop path 0.1 (recipe, tiny and base), LayerScale 0.1 (--layer-scale default), BEiT's q/v bias."""
    return dict(img=img, patch=patch, in_chans=in_chans, dim=dim, depth=depth, heads=heads, mlp_ratio=mlp_ratio, num_classes=classes,
                drop_path_rate=0.1, layer_scale=0.1, pos="none", relpos="per_block", pool="avg", qkv_bias="qv")


CASES = {
    "step moco tiny 28px b128": lambda b=False: moco_case(MOCO_SMALL, b),
    "step tokenizer small 28px b32": lambda b=False: tokenizer_case(VQConfig.small(1), MOCO_SMALL["vit"], 32, FMNIST_MEAN, FMNIST_STD, b),
    "step mim tiny 28px b128": lambda b=False: mim_case(mim_vit(28, 4, 1, 96, 4, 4, 2.0, 256), VQConfig.small(1), 128, 1, FMNIST_MEAN, FMNIST_STD, b),
    "step finetune tiny 28px b128": lambda b=False: finetune_case(finetune_vit(28, 4, 1, 96, 4, 4, 2.0, 10), 128, 10, 0.75, FMNIST_MEAN, FMNIST_STD, b),
    "step moco vit-b16 224px b8": lambda b=False: moco_case(MOCO_B16, b),
    "step tokenizer vqgan-f16 224px b2": lambda b=False: tokenizer_case(VQConfig.vqgan_f16(), MOCO_B16["vit"], 2, IMAGENET_MEAN, IMAGENET_STD, b),
    "step mim vit-b16 224px b8": lambda b=False: mim_case(mim_vit(224, 16, 3, 768, 12, 12, 4.0, 8192), VQConfig.vqgan_f16(), 8, 3, IMAGENET_MEAN,
                                                          IMAGENET_STD, b),
    "step finetune vit-b16 224px b8": lambda b=False: finetune_case(finetune_vit(224, 16, 3, 768, 12, 12, 4.0, 1000), 8, 1000, 0.65, IMAGENET_MEAN,
                                                                     IMAGENET_STD, b),
}


def main():
    args = sys.argv[1:]
    if args and args[0] == "--list":
        print("\n".join(CASES))
        return
    torch.manual_seed(0)
    if args and args[0] == "--check":
        for name, build in CASES.items():
            torch.manual_seed(0)
            _, images, params, counts = build(True)
            print("%-36s trainable %12d  %s" % (name, params, "  ".join("%s %d" % kv for kv in counts.items())))
        return
    quick = "--quick" in args
    args = [a for a in args if a != "--quick"]
    device = None
    if "--device" in args:  # e.g. cuda: models, state and batches made there (torch >= 2.0), each step synchronized
        k = args.index("--device")
        device = args[k + 1]
        args = args[:k] + args[k + 2:]
    if len(args) != 3 or args[2] not in CASES:
        sys.exit("usage: steps_torch.py THREADS OUT.jsonl CASE [--quick] [--device DEV] | --list | --check\ncases:\n  " + "\n  ".join(CASES))
    threads, path, name = int(args[0]), args[1], args[2]
    torch.set_num_threads(threads)
    if device:
        torch.set_default_device(device)
    step, images, params, _ = CASES[name]()
    timed = step
    if device and device.startswith("cuda"):
        def timed():
            step()
            torch.cuda.synchronize()
    s = median_time(timed, quick)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = {"case": name, "threads": threads, "peer": "PyTorch %s" % torch.__version__.split("a")[0], "seconds": s, "images": images,
            "rss_mib": rss, "params": params, "flops": 0}
    if device:
        line["device"] = device
    print("pytorch %-36s %d threads: %.4f s/step, %.1f images/s, peak RSS %.0f MiB" % (name, threads, s, images / s, rss), file=sys.stderr)
    with open(path, "a") as f:
        f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()

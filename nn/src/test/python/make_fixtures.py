#!/usr/bin/env python3
"""Generates the PyTorch parity fixtures for peco4j's nn tests.

Uses only Debian's python3-torch (PyTorch 1.13) and the standard library; safetensors files are
written by hand (8-byte little-endian header length, compact JSON header padded with spaces to a
multiple of 8, then the tensors' bytes in header order), the layout peco4j writes too.

    /usr/bin/python3 nn/src/test/python/make_fixtures.py nn/src/test/resources/fixtures pipeline/src/test/resources/fixtures

(the second folder receives the fixtures of models that live in the pipeline module: the MoCo v3 ViT).

Each layer fixture holds: "input.<name>" tensors, the module's state dict under "param.<name>"
(PyTorch names), "upstream" (the gradient fed to backward), "output", and "grad.input.<name>" /
"grad.param.<name>" for every input and parameter.

vqgan_tiny.safetensors (pipeline folder) is one taming-transformers VQGAN training step (VQModel with
VectorQuantizer2 and VQLPIPSWithDiscriminator, perceptual weight 0, L1 pixel loss, hinge GAN loss, disc_weight 0.8,
disc_factor 1, the paper's quantizer loss) on a tiny config written into the metadata as JSON strings (ch 16, ch_mult
[1, 2], one res block, attention at 8, resolution 16, z_channels = embed_dim = 8, n_embed 16, GroupNorm with 8 groups
instead of taming's 32, a 2-layer PatchGAN with ndf 8). Parameters ("param.<taming state_dict key>", train mode, BN buffers included) and x are float32-exact and stored
as F32; everything else was computed in float64 and is F64 (the gradients q_grad.*, grad.* and dgrad.* are
rounded to F32): h, indices (I64), quant, xrec, q_loss.legacy/paper and
their gradients for h and the codebook (q_grad.*), nll, logits_fake, g_loss, nll_grad_norm, g_grad_norm, d_weight,
ae_loss, grad.<key> (of ae_loss, autoencoder parameters), bn_after_g.<key> (BN running stats after the generator step's
D(xrec)), then the discriminator step from the stored BN buffers: logits_real, logits_fake_d, d_loss.hinge/vanilla,
dgrad.<key> (of d_loss.hinge) and bn_after.<key>. Pass "vqgan" as a third argument to write only that file.

beit_masks.safetensors (pipeline folder) is BEiT's block-wise MaskingGenerator (beit/masking_generator.py) run with
every call it makes on Python's random module recorded, so that the masks can be replayed draw for draw. Per config
<name> (beit: 14x14, 75 masked, min 16, 600 masks; small8: 8x8, 26, min 4, 400; grid7: 7x7, 20, min 4, 400; rect:
6 rows x 10 columns, 24, min 3, max 12, aspect 0.5..3, 200): masks.<name> (U8, count x H x W), kinds.<name> (I32, one
per call: 0 = the random() value r behind uniform(a, b), which returns a + (b - a) * r; 1 = a randint(a, b) result),
draws.<name> (F64: r, or the randint result), calls.<name> (I32, count: the calls each mask consumed). Metadata
"configs" is a JSON list of {name, seed, height, width, num_masking_patches, min_num_patches, max_num_patches (resolved:
None means num_masking_patches), max_num_patches_given, min_aspect, max_aspect (resolved: None means 1 / min_aspect),
max_aspect_given, log_aspect_ratio, count}. Pass "beit_masks" as a third argument to write only that file.

beit_mim_tiny.safetensors (pipeline folder) is one forward/backward of BEiT's VisionTransformerForMaskedImageModeling
(beit/modeling_pretrain.py with modeling_finetune.py's Block, Attention, RelativePositionBias, PatchEmbed) on a tiny
config (metadata "config": img 16, patch 4, embed_dim 32, depth 2, 4 heads, mlp_ratio 4, vocab 24, LayerScale 0.1,
q_bias/v_bias, one relative position bias shared by the blocks, no absolute position embedding, LayerNorm eps 1e-6,
exact GELU, no dropout or drop path), batch 3: param.<BEiT state_dict key> (F32, random), buffer.rel_pos_bias.
relative_position_index (I64, 17 x 17), input.x (F32, 3 x 3 x 16 x 16), input.mask (U8, 3 x 16, bool_masked_pos from
the masking generator: metadata "mask_generator"; the images have different masked counts), input.labels (I64, one per
masked token in x[bool_masked_pos] order: image by image, row-major), then, computed in float64: logits (masked tokens
x 24), loss (mean cross-entropy over all masked tokens), grad.<key> for every parameter and grad.input.x. The same
under "abs." (abs.param.*, abs.logits, abs.loss, abs.grad.*; metadata "abs.config") for a variant with pos_embed and no
relative position bias, on the same inputs. Metadata params.<model> / backbone_params.<model> (without lm_head) are
the parameter counts of beit_base_patch16_224_8k_vocab and beit_large_patch16_224_8k_vocab (shared relative position
bias, no absolute position embedding, LayerScale, vocab 8192; buffers excluded). Pass "beit_mim" as a third argument to
write only that file.
"""
import json
import math
import os
import random
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    if t.dtype == torch.bool:
        return t.to(torch.uint8).numpy().tobytes()
    return t.numpy().tobytes()  # little-endian on the machines we run on


def save(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def relative_position_index(wh, ww):
    """BEiT's index: patch offsets packed into rows of a (2Wh-1)(2Ww-1) table, then 3 rows for [CLS]."""
    coords = torch.stack(torch.meshgrid([torch.arange(wh), torch.arange(ww)], indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += wh - 1
    rel[:, :, 1] += ww - 1
    rel[:, :, 0] *= 2 * ww - 1
    n, t = wh * ww, (2 * wh - 1) * (2 * ww - 1) + 3
    idx = torch.zeros((n + 1, n + 1), dtype=torch.int64)
    idx[1:, 1:] = rel.sum(-1)
    idx[0, 0:] = t - 3
    idx[0:, 0] = t - 2
    idx[0, 0] = t - 1
    return idx


class Attention(nn.Module):
    """BEiT's attention: qkv without bias plus q_bias and v_bias, a per-layer relative position bias."""

    def __init__(self, dim, heads, window):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        wh, ww = window
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1) + 3, heads))
        self.register_buffer("relative_position_index", relative_position_index(wh, ww))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        rel = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = (attn + rel.permute(2, 0, 1).unsqueeze(0)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, -1))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """BEiT's pre-norm block with LayerScale (drop path off)."""

    def __init__(self, dim, heads, window, init_values):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)
        self.gamma_1 = nn.Parameter(init_values * torch.ones(dim))
        self.gamma_2 = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        x = x + self.gamma_1 * self.attn(self.norm1(x))
        return x + self.gamma_2 * self.mlp(self.norm2(x))


def randomize(module, scale=0.3):
    """Replaces every parameter by random values (1-D weights around 1), so zero-initialized ones are tested too."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn_like(p) * scale + (1.0 if p.dim() == 1 and name.endswith("weight") else 0.0))


def layer_fixture(path, module, inputs, metadata):
    """Runs module on inputs, backward with a random upstream gradient, saves everything."""
    for t in inputs.values():
        t.requires_grad_(True)
    out = module(*inputs.values())
    upstream = torch.randn_like(out)
    out.backward(upstream)
    tensors = {}
    for n, t in inputs.items():
        tensors["input." + n] = t.detach()
    for n, t in module.state_dict().items():
        tensors["param." + n] = t
    tensors["upstream"] = upstream
    tensors["output"] = out.detach()
    for n, t in inputs.items():
        tensors["grad.input." + n] = t.grad
    for n, p in module.named_parameters():
        tensors["grad.param." + n] = p.grad
    save(path, tensors, dict(metadata, torch=torch.__version__))


def adamw_fixture(path):
    """10 AdamW steps: a decayed weight and a no-decay bias group, BEiT's cosine schedule with warm-up."""
    torch.manual_seed(5)
    x, y = torch.randn(16, 4), torch.randn(16, 3)
    w, b = nn.Parameter(torch.randn(3, 4) * 0.5), nn.Parameter(torch.randn(3) * 0.5)
    base, final, total, warmup = 1e-2, 1e-4, 10, 3
    warm = [base * i / (warmup - 1) for i in range(warmup)]  # np.linspace(0, base, warmup)
    warm[-1] = base
    sched = warm + [final + 0.5 * (base - final) * (1 + math.cos(math.pi * i / (total - warmup)))
                    for i in range(total - warmup)]
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.05}, {"params": [b], "weight_decay": 0.0}],
                            lr=base, betas=(0.9, 0.999), eps=1e-8)
    tensors = {"data.x": x, "data.y": y, "init.weight": w.detach().clone(), "init.bias": b.detach().clone(),
               "schedule": torch.tensor(sched, dtype=torch.float64)}
    for step in range(total):
        for g in opt.param_groups:
            g["lr"] = sched[step]
        opt.zero_grad()
        loss = ((x @ w.t() + b - y) ** 2).mean()
        loss.backward()
        tensors["step%d.grad.weight" % step] = w.grad.detach().clone()
        tensors["step%d.grad.bias" % step] = b.grad.detach().clone()
        opt.step()
        tensors["step%d.weight" % step] = w.detach().clone()
        tensors["step%d.bias" % step] = b.detach().clone()
    save(path, tensors, {"torch": torch.__version__, "weight_decay": "0.05", "betas": "0.9,0.999", "eps": "1e-08"})


def dtypes_fixture(path):
    """One small tensor of each dtype, with known values."""
    v = torch.tensor([0.0, 1.5, -2.25, 65504.0, 1e-3])
    save(path, {
        "f32": v, "f64": v.double() / 3, "f16": v.half(), "bf16": v.bfloat16(),
        "i64": torch.tensor([[-3, 0], [7, 2**31 - 1]], dtype=torch.int64), "i32": torch.tensor([5, -6], dtype=torch.int32),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8), "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(4.0), "empty": torch.zeros(0, 3),
    }, {"note": "dtypes fixture", "unicode": "caf\u00e9 \u2014 ok"})


def interpolate_fixture(path):
    """F.interpolate (antialias off) in float64: outputs and input gradients for every mode, both align_corners, up and down."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3, 5, 7, generator=g, dtype=torch.float64)
    tensors = {"input.x": x}
    for size in [(9, 11), (3, 4), (5, 3)]:
        for mode, aligns in [("nearest", [None]), ("bilinear", [False, True]), ("bicubic", [False, True])]:
            for align in aligns:
                xi = x.clone().requires_grad_(True)
                y = F.interpolate(xi, size=size, mode=mode, align_corners=align)
                up = torch.randn(y.shape, generator=g, dtype=torch.float64)
                y.backward(up)
                key = "%s.%s.%dx%d" % (mode, {None: "none", False: "false", True: "true"}[align], size[0], size[1])
                tensors["output." + key] = y.detach()
                tensors["upstream." + key] = up
                tensors["grad.input." + key] = xi.grad
    save(path, tensors, {"layer": "F.interpolate", "torch": torch.__version__})


class TimmAttention(nn.Module):
    """timm 0.4.9's ViT attention, as MoCo v3's vits.py uses it: one qkv Linear with bias."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class TimmMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TimmBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = TimmAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = TimmMlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class MocoV3ViT(nn.Module):
    """MoCo v3's VisionTransformerMoCo (vits.py) reduced to what the encoder computes: patch embedding,
    [CLS], the fixed 2-D sin-cos position embedding of build_2d_sincos_position_embedding, timm blocks, norm."""

    def __init__(self, img=16, patch=4, dim=16, depth=3, heads=2):
        super().__init__()
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        h = w = img // patch
        grid_w, grid_h = torch.meshgrid(torch.arange(w, dtype=torch.float32), torch.arange(h, dtype=torch.float32))
        pos_dim = dim // 4
        omega = 1. / (10000. ** (torch.arange(pos_dim, dtype=torch.float32) / pos_dim))
        out_w = torch.einsum("m,d->md", [grid_w.flatten(), omega])
        out_h = torch.einsum("m,d->md", [grid_h.flatten(), omega])
        pos = torch.cat([torch.sin(out_w), torch.cos(out_w), torch.sin(out_h), torch.cos(out_h)], dim=1)[None]
        self.pos_embed = nn.Parameter(torch.cat([torch.zeros(1, 1, dim), pos], dim=1))
        self.pos_embed.requires_grad = False
        self.blocks = nn.ModuleList([TimmBlock(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        taps = []
        for blk in self.blocks:
            x = blk(x)
            taps.append(x)
        return taps, self.norm(x)


def moco_v3_fixture(path):
    """A small MoCo-v3 ViT with random weights: its state dict in the converted layout (timm names, no
    prefix, no projector head), a fixed input, every block's output and the normalized final tokens."""
    torch.manual_seed(11)
    vit = MocoV3ViT()
    pos = vit.pos_embed.detach().clone()
    randomize(vit)
    with torch.no_grad():
        vit.pos_embed.copy_(pos)  # the fixed sin-cos table, as MoCo v3 computes it (randomize touched it)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        taps, feats = vit(x)
    tensors = {"param." + k: v for k, v in vit.state_dict().items()}
    tensors["input.x"] = x
    for i, t in enumerate(taps):
        tensors["tap.blocks.%d" % i] = t
    tensors["output.forward_features"] = feats
    save(path, tensors, {"layer": "MoCo v3 ViT (img 16, patch 4, dim 16, depth 3, heads 2)", "torch": torch.__version__})


def build_mlp(num_layers, input_dim, mlp_dim, output_dim, last_bn=True):
    """moco-v3's _build_mlp."""
    mlp = []
    for l in range(num_layers):
        dim1 = input_dim if l == 0 else mlp_dim
        dim2 = output_dim if l == num_layers - 1 else mlp_dim
        mlp.append(nn.Linear(dim1, dim2, bias=False))
        if l < num_layers - 1:
            mlp.append(nn.BatchNorm1d(dim2))
            mlp.append(nn.ReLU(inplace=True))
        elif last_bn:
            mlp.append(nn.BatchNorm1d(dim2, affine=False))
    return nn.Sequential(*mlp)


def moco_v3_loss_fixture(path):
    """One MoCo v3 step as moco/builder.py computes it (MoCo_ViT.forward, T = 0.2, m = 0.99) on a small ViT, in float64:
    the state before (our module names), two views, the loss, the gradients of the trained parameters, and
    the momentum branch after its update."""
    torch.manual_seed(12)
    base, mom = MocoV3ViT(), MocoV3ViT()
    base_head, mom_head = build_mlp(3, 16, 32, 8), build_mlp(3, 16, 32, 8)
    predictor = build_mlp(2, 8, 32, 8, False)
    pos = base.pos_embed.detach().clone()
    for m in (base, base_head, predictor):
        randomize(m)
    with torch.no_grad():
        base.pos_embed.copy_(pos)
        for pb, pm in zip(list(base.parameters()) + list(base_head.parameters()), list(mom.parameters()) + list(mom_head.parameters())):
            pm.copy_(pb)
    parts = {"base_encoder": base, "base_head": base_head, "momentum_encoder": mom, "momentum_head": mom_head, "predictor": predictor}
    for m in parts.values():
        m.double()  # float64: the comparison tests the method, not float32 rounding through BatchNorm over 4 samples
    tensors = {}
    for name, m in parts.items():
        for k, v in m.state_dict().items():
            tensors["param.%s.%s" % (name, k)] = v.clone()
    x1, x2 = torch.randn(4, 3, 16, 16, dtype=torch.float64), torch.randn(4, 3, 16, 16, dtype=torch.float64)
    T, mm = 0.2, 0.99

    def rep(vit, x):
        return vit(x)[1][:, 0]

    def ctr(q, k):
        q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
        logits = torch.einsum("nc,mc->nm", [q, k]) / T
        return F.cross_entropy(logits, torch.arange(logits.shape[0])) * (2 * T)

    for m in parts.values():
        m.train()
    q1, q2 = predictor(base_head(rep(base, x1))), predictor(base_head(rep(base, x2)))
    with torch.no_grad():
        for pb, pm in zip(list(base.parameters()) + list(base_head.parameters()), list(mom.parameters()) + list(mom_head.parameters())):
            pm.data = pm.data * mm + pb.data * (1. - mm)
        k1, k2 = mom_head(rep(mom, x1)), mom_head(rep(mom, x2))
    loss = ctr(q1, k2) + ctr(q2, k1)
    loss.backward()
    tensors["input.x1"], tensors["input.x2"], tensors["output.loss"] = x1, x2, loss.detach()
    for name in ("base_encoder", "base_head", "predictor"):
        for k, p in parts[name].named_parameters():
            if p.grad is not None:
                tensors["grad.%s.%s" % (name, k)] = p.grad
    for name in ("momentum_encoder", "momentum_head"):
        for k, v in parts[name].state_dict().items():
            tensors["after.%s.%s" % (name, k)] = v.clone()
    save(path, tensors, {"layer": "MoCo v3 step (T 0.2, m 0.99)", "torch": torch.__version__})


# ---------------------------------------------------------------------------------------------------------------
# taming-transformers' VQGAN (CompVis/taming-transformers), restated for the parity fixture. Module and attribute
# names follow taming exactly, so state_dict() keys are taming's (a VQModel checkpoint's keys, less loss.perceptual_loss).
# Sources: taming/modules/diffusionmodules/model.py, taming/modules/vqvae/quantize.py (VectorQuantizer2),
# taming/models/vqgan.py (VQModel), taming/modules/discriminator/model.py, taming/modules/losses/vqperceptual.py.
# ---------------------------------------------------------------------------------------------------------------

def taming_nonlinearity(x):
    """model.py nonlinearity: swish, x * sigmoid(x)."""
    return x * torch.sigmoid(x)


# model.py's Normalize hard-codes 32 groups; the fixture uses 8 (peco4j's small tokenizer does too), which keeps the
# tiny model small enough to store while every other line of taming's code runs as written
TAMING_GROUPS = [32]


def taming_normalize(channels):
    """model.py Normalize: GroupNorm (32 groups in taming, TAMING_GROUPS here), eps 1e-6, affine."""
    return nn.GroupNorm(num_groups=TAMING_GROUPS[0], num_channels=channels, eps=1e-6, affine=True)


class TamingUpsample(nn.Module):
    """model.py Upsample (with_conv=True): nearest x2 (scale_factor=2.0), then a 3x3 conv, padding 1."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class TamingDownsample(nn.Module):
    """model.py Downsample (with_conv=True): zero pad one column right and one row bottom, then 3x3 stride 2, no padding."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0.0))


class TamingResnetBlock(nn.Module):
    """model.py ResnetBlock with temb_channels=0 (Encoder and Decoder build it so; no temb_proj):
    norm1, swish, conv1, norm2, swish, dropout, conv2; the skip is nin_shortcut (1x1) when the width changes."""

    def __init__(self, in_channels, out_channels=None, dropout=0.0):
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        self.in_channels, self.out_channels = in_channels, out_channels
        self.norm1 = taming_normalize(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
        self.norm2 = taming_normalize(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1)
        if in_channels != out_channels:  # taming's conv_shortcut=False default: a 1x1 "network in network" skip
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, padding=0)

    def forward(self, x):
        h = self.conv1(taming_nonlinearity(self.norm1(x)))
        h = self.conv2(self.dropout(taming_nonlinearity(self.norm2(h))))
        skip = self.nin_shortcut(x) if self.in_channels != self.out_channels else x
        return skip + h


class TamingAttnBlock(nn.Module):
    """model.py AttnBlock: one head over all h*w positions; q, k, v, proj_out are 1x1 convs with bias;
    softmax over the keys of (q . k) * c^-0.5; output x + proj_out(attended v)."""

    def __init__(self, channels):
        super().__init__()
        self.in_channels = channels
        self.norm = taming_normalize(channels)
        self.q = nn.Conv2d(channels, channels, kernel_size=1)
        self.k = nn.Conv2d(channels, channels, kernel_size=1)
        self.v = nn.Conv2d(channels, channels, kernel_size=1)
        self.proj_out = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, x):
        n = self.norm(x)
        b, c, hh, ww = x.shape
        q = self.q(n).reshape(b, c, hh * ww)
        k = self.k(n).reshape(b, c, hh * ww)
        v = self.v(n).reshape(b, c, hh * ww)
        weights = torch.softmax(torch.einsum("bci,bcj->bij", q, k) * (int(c) ** -0.5), dim=2)  # [b, query, key]
        out = torch.einsum("bcj,bij->bci", v, weights).reshape(b, c, hh, ww)
        return x + self.proj_out(out)


class TamingEncoder(nn.Module):
    """model.py Encoder: conv_in; per level num_res_blocks ResnetBlocks (each followed by an AttnBlock when the
    level's nominal resolution, halved from `resolution` at each Downsample, is in attn_resolutions), a Downsample
    after every level but the last; mid.block_1, mid.attn_1, mid.block_2; norm_out, swish, conv_out."""

    def __init__(self, *, ch, ch_mult, num_res_blocks, attn_resolutions, dropout, in_channels, resolution,
                 z_channels, double_z):
        super().__init__()
        self.num_resolutions, self.num_res_blocks = len(ch_mult), num_res_blocks
        self.conv_in = nn.Conv2d(in_channels, ch, kernel_size=3, stride=1, padding=1)
        widths_in = (1,) + tuple(ch_mult)
        res = resolution
        self.down = nn.ModuleList()
        for level in range(self.num_resolutions):
            level_module = nn.Module()
            level_module.block, level_module.attn = nn.ModuleList(), nn.ModuleList()
            width = ch * widths_in[level]
            for _ in range(num_res_blocks):
                level_module.block.append(TamingResnetBlock(width, ch * ch_mult[level], dropout))
                width = ch * ch_mult[level]
                if res in attn_resolutions:
                    level_module.attn.append(TamingAttnBlock(width))
            if level != self.num_resolutions - 1:
                level_module.downsample = TamingDownsample(width)
                res //= 2
            self.down.append(level_module)
        self.mid = nn.Module()
        self.mid.block_1 = TamingResnetBlock(width, width, dropout)
        self.mid.attn_1 = TamingAttnBlock(width)
        self.mid.block_2 = TamingResnetBlock(width, width, dropout)
        self.norm_out = taming_normalize(width)
        self.conv_out = nn.Conv2d(width, 2 * z_channels if double_z else z_channels, kernel_size=3, stride=1, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for level in range(self.num_resolutions):
            for i in range(self.num_res_blocks):
                h = self.down[level].block[i](h)
                if len(self.down[level].attn) > 0:
                    h = self.down[level].attn[i](h)
            if level != self.num_resolutions - 1:
                h = self.down[level].downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(taming_nonlinearity(self.norm_out(h)))


class TamingDecoder(nn.Module):
    """model.py Decoder: conv_in (z_channels -> ch*ch_mult[-1]); mid.block_1, mid.attn_1, mid.block_2; levels from the
    last to 0, each num_res_blocks+1 ResnetBlocks (AttnBlocks by nominal resolution, starting at
    resolution / 2^(levels-1)) and an Upsample after every level but level 0; self.up is indexed by level (taming
    inserts each at the front); norm_out, swish, conv_out (no tanh; give_pre_end=False)."""

    def __init__(self, *, ch, out_ch, ch_mult, num_res_blocks, attn_resolutions, dropout, resolution, z_channels):
        super().__init__()
        self.num_resolutions, self.num_res_blocks = len(ch_mult), num_res_blocks
        width = ch * ch_mult[-1]
        res = resolution // 2 ** (self.num_resolutions - 1)
        self.conv_in = nn.Conv2d(z_channels, width, kernel_size=3, stride=1, padding=1)
        self.mid = nn.Module()
        self.mid.block_1 = TamingResnetBlock(width, width, dropout)
        self.mid.attn_1 = TamingAttnBlock(width)
        self.mid.block_2 = TamingResnetBlock(width, width, dropout)
        levels = [None] * self.num_resolutions
        for level in reversed(range(self.num_resolutions)):
            level_module = nn.Module()
            level_module.block, level_module.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                level_module.block.append(TamingResnetBlock(width, ch * ch_mult[level], dropout))
                width = ch * ch_mult[level]
                if res in attn_resolutions:
                    level_module.attn.append(TamingAttnBlock(width))
            if level != 0:
                level_module.upsample = TamingUpsample(width)
                res *= 2
            levels[level] = level_module
        self.up = nn.ModuleList(levels)
        self.norm_out = taming_normalize(width)
        self.conv_out = nn.Conv2d(width, out_ch, kernel_size=3, stride=1, padding=1)

    def forward(self, z):
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(self.conv_in(z))))
        for level in reversed(range(self.num_resolutions)):
            for i in range(self.num_res_blocks + 1):
                h = self.up[level].block[i](h)
                if len(self.up[level].attn) > 0:
                    h = self.up[level].attn[i](h)
            if level != 0:
                h = self.up[level].upsample(h)
        return self.conv_out(taming_nonlinearity(self.norm_out(h)))


class TamingVectorQuantizer2(nn.Module):
    """quantize.py VectorQuantizer2 without remap (sane_index_shape: indices as [b, h, w]). Distances are taming's
    |z|^2 + |e|^2 - 2 z.e, argmin (first index on ties); returns the straight-through z_q, the loss of both forms
    (legacy=True, VQModel's default: beta on the codebook term; legacy=False, the paper: beta on the commitment term)
    and the indices."""

    def __init__(self, n_e, e_dim, beta):
        super().__init__()
        self.n_e, self.e_dim, self.beta = n_e, e_dim, beta
        self.embedding = nn.Embedding(n_e, e_dim)

    def forward(self, z):
        z = z.permute(0, 2, 3, 1).contiguous()  # b h w c
        flat = z.view(-1, self.e_dim)
        e = self.embedding.weight
        d = (flat ** 2).sum(dim=1, keepdim=True) + (e ** 2).sum(dim=1) - 2 * flat @ e.t()
        idx = torch.argmin(d, dim=1)
        zq = self.embedding(idx).view(z.shape)
        to_codes = torch.mean((zq.detach() - z) ** 2)   # pulls z toward the (frozen) codes: the commitment term
        to_z = torch.mean((zq - z.detach()) ** 2)       # pulls the codes toward the (frozen) z: the codebook term
        loss_legacy = to_codes + self.beta * to_z
        loss_paper = self.beta * to_codes + to_z
        zq = z + (zq - z).detach()  # straight-through
        return zq.permute(0, 3, 1, 2).contiguous(), loss_legacy, loss_paper, idx.view(z.shape[:3]), d


class TamingNLayerDiscriminator(nn.Module):
    """discriminator/model.py NLayerDiscriminator (BatchNorm, use_actnorm=False): PatchGAN, 4x4 kernels, padding 1;
    conv(s2)+LeakyReLU(0.2); n_layers-1 x [conv(s2, no bias), BN, LeakyReLU]; conv(s1, no bias), BN, LeakyReLU;
    conv(s1) to 1 channel. All in one nn.Sequential named main."""

    def __init__(self, input_nc=3, ndf=64, n_layers=3):
        super().__init__()
        layers = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=1, padding=1, bias=False),
                   nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, True),
                   nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1)]
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x)


def taming_weights_init(m):
    """discriminator/model.py weights_init: conv weights N(0, 0.02) (biases untouched), BN weight N(1, 0.02), bias 0."""
    name = m.__class__.__name__
    if "Conv" in name:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class TamingVQGAN(nn.Module):
    """vqgan.py VQModel's modules (same registration order: encoder, decoder, loss, quantize, quant_conv,
    post_quant_conv), with loss holding only VQLPIPSWithDiscriminator's discriminator (no LPIPS)."""

    def __init__(self, dd, n_embed, embed_dim, beta, disc):
        super().__init__()
        self.encoder = TamingEncoder(ch=dd["ch"], ch_mult=dd["ch_mult"], num_res_blocks=dd["num_res_blocks"],
                                     attn_resolutions=dd["attn_resolutions"], dropout=dd["dropout"],
                                     in_channels=dd["in_channels"], resolution=dd["resolution"],
                                     z_channels=dd["z_channels"], double_z=dd["double_z"])
        self.decoder = TamingDecoder(ch=dd["ch"], out_ch=dd["out_ch"], ch_mult=dd["ch_mult"],
                                     num_res_blocks=dd["num_res_blocks"], attn_resolutions=dd["attn_resolutions"],
                                     dropout=dd["dropout"], resolution=dd["resolution"], z_channels=dd["z_channels"])
        self.loss = nn.Module()
        self.loss.discriminator = TamingNLayerDiscriminator(disc["input_nc"], disc["ndf"], disc["n_layers"])
        self.loss.discriminator.apply(taming_weights_init)
        self.quantize = TamingVectorQuantizer2(n_embed, embed_dim, beta)
        self.quant_conv = nn.Conv2d(dd["z_channels"], embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(embed_dim, dd["z_channels"], 1)

    def autoencoder_parameters(self):
        """What taming's opt_ae trains: everything but loss.*."""
        return [(k, p) for k, p in self.named_parameters() if not k.startswith("loss.")]


def randomize_fan_in(module, bias_scale=0.1, norm_scale=0.1):
    """Random parameters that keep activations O(1): conv/linear weights N(0, 1/fan_in), biases N(0, bias_scale^2),
    norm weights 1 + N(0, norm_scale^2), norm biases N(0, norm_scale^2)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(torch.randn_like(m.weight) / math.sqrt(m.weight[0].numel()))
                if m.bias is not None:
                    m.bias.copy_(torch.randn_like(m.bias) * bias_scale)
            elif isinstance(m, (nn.GroupNorm, nn.BatchNorm2d)):
                m.weight.copy_(1.0 + torch.randn_like(m.weight) * norm_scale)
                m.bias.copy_(torch.randn_like(m.bias) * norm_scale)


def vqgan_fixture(path):
    """One VQGAN training step as taming computes it (VQModel + VQLPIPSWithDiscriminator, perceptual weight 0), on a
    tiny config, in float64 from float32-exact parameters: see the module docstring for the stored tensors."""
    torch.manual_seed(21)
    TAMING_GROUPS[0] = 8
    dd = {"ch": 16, "ch_mult": [1, 2], "num_res_blocks": 1, "attn_resolutions": [8], "resolution": 16,
          "in_channels": 3, "out_ch": 3, "z_channels": 8, "double_z": False, "dropout": 0.0}
    n_embed, embed_dim, beta = 16, 8, 0.25
    disc = {"input_nc": 3, "ndf": 8, "n_layers": 2, "use_actnorm": False}
    codebook_weight, disc_factor, disc_weight = 1.0, 1.0, 0.8
    model = TamingVQGAN(dd, n_embed, embed_dim, beta, disc)
    randomize_fan_in(model)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        # the codebook: 16 of the 128 actual z vectors (quant_conv(encoder(x))) plus small noise, so the argmin
        # spreads over many distinct codes
        z = model.quant_conv(model.encoder(x)).permute(0, 2, 3, 1).reshape(-1, embed_dim)
        pick = torch.randperm(z.shape[0])[:n_embed]
        model.quantize.embedding.weight.copy_(z[pick] + 0.05 * z.std() * torch.randn(n_embed, embed_dim))
        for m in model.loss.discriminator.modules():  # non-default BN buffers, so the momentum update is visible
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn_like(m.running_mean) * 0.1)
                m.running_var.copy_(1.0 + torch.rand_like(m.running_var) * 0.5)
    # everything is float32 here, hence float32-exact once widened
    model.double()
    model.train()
    x = x.double()
    tensors = {}
    for k, v in model.state_dict().items():
        tensors["param." + k] = v.clone() if v.dtype == torch.int64 else v.float()
    tensors["x"] = x.float()
    disc_module = model.loss.discriminator
    bn_keys = [k for k in disc_module.state_dict() if k.endswith("running_mean") or k.endswith("running_var")]
    bn_before = {k: v.clone() for k, v in disc_module.state_dict().items() if k in bn_keys or k.endswith("num_batches_tracked")}

    # VQModel.forward: encode = encoder -> quant_conv -> quantize; decode = post_quant_conv -> decoder
    h = model.quant_conv(model.encoder(x))
    quant, q_legacy, q_paper, indices, dist = model.quantize(h)
    xrec = model.decoder(model.post_quant_conv(quant))
    # the two quantizer-loss forms have the same value (both squared differences are equal in the forward pass);
    # they differ only in where beta sends the gradient: to z (commitment) or to the codebook
    codebook = model.quantize.embedding.weight
    q_grads = {form: torch.autograd.grad(q, [h, codebook], retain_graph=True)
               for form, q in (("legacy", q_legacy), ("paper", q_paper))}

    # optimizer_idx 0 (VQLPIPSWithDiscriminator.forward): L1 pixel loss, no LPIPS; the discriminator runs in train
    # mode, so its BatchNorms use xrec's batch statistics and update their running stats
    nll = torch.mean(torch.abs(x.contiguous() - xrec.contiguous()))
    logits_fake = disc_module(xrec.contiguous())
    g_loss = -torch.mean(logits_fake)
    last = model.decoder.conv_out.weight  # VQModel.get_last_layer
    nll_grads = torch.autograd.grad(nll, last, retain_graph=True)[0]
    g_grads = torch.autograd.grad(g_loss, last, retain_graph=True)[0]
    nll_norm, g_norm = torch.norm(nll_grads), torch.norm(g_grads)
    d_weight = torch.clamp(nll_norm / (g_norm + 1e-4), 0.0, 1e4).detach() * disc_weight
    ae_loss = nll + d_weight * disc_factor * g_loss + codebook_weight * q_paper.mean()
    ae_params = model.autoencoder_parameters()
    ae_grads = torch.autograd.grad(ae_loss, [p for _, p in ae_params])
    bn_after_g = {k: v.clone() for k, v in disc_module.state_dict().items() if k in bn_keys}

    # optimizer_idx 1 on detached x and xrec. In taming (PyTorch Lightning, two optimizers) training_step runs again
    # for optimizer_idx 1 on the same batch: VQModel.forward recomputes xrec (identical here: no dropout, no BN in the
    # autoencoder) and the discriminator's running stats start from where the generator step's D(xrec) left them,
    # then D(x) and D(xrec) update them once each (two separate forwards, each with its own batch statistics). This
    # fixture resets them to the stored values first, so that the discriminator step can be tested on its own; the
    # state after the generator step is stored as bn_after_g.*. Train-mode outputs do not depend on running stats,
    # so logits_fake_d equals logits_fake.
    with torch.no_grad():
        for k, v in disc_module.state_dict().items():
            if k in bn_before:
                v.copy_(bn_before[k])
    logits_real = disc_module(x.contiguous().detach())
    logits_fake_d = disc_module(xrec.contiguous().detach())
    d_hinge = 0.5 * (torch.mean(F.relu(1.0 - logits_real)) + torch.mean(F.relu(1.0 + logits_fake_d)))
    d_vanilla = 0.5 * (torch.mean(F.softplus(-logits_real)) + torch.mean(F.softplus(logits_fake_d)))
    disc_params = list(disc_module.named_parameters())
    d_grads = torch.autograd.grad(disc_factor * d_hinge, [p for _, p in disc_params])

    tensors["h"] = h.detach()
    tensors["indices"] = indices
    tensors["quant"] = quant.detach()
    tensors["xrec"] = xrec.detach()
    tensors["q_loss.legacy"] = q_legacy.detach()
    tensors["q_loss.paper"] = q_paper.detach()
    for form, (gh, ge) in q_grads.items():
        tensors["q_grad.%s.h" % form] = gh.float()
        tensors["q_grad.%s.quantize.embedding.weight" % form] = ge.float()
    tensors["nll"] = nll.detach()
    tensors["logits_fake"] = logits_fake.detach()
    tensors["g_loss"] = g_loss.detach()
    tensors["nll_grad_norm"] = nll_norm.detach()
    tensors["g_grad_norm"] = g_norm.detach()
    tensors["d_weight"] = d_weight
    tensors["ae_loss"] = ae_loss.detach()
    for (k, _), g in zip(ae_params, ae_grads):
        tensors["grad." + k] = g.float()  # gradients as float32: 1e-7 relative, far inside the test's 1e-4
    for k in bn_keys:
        tensors["bn_after_g.loss.discriminator." + k] = bn_after_g[k]
    tensors["logits_real"] = logits_real.detach()
    tensors["logits_fake_d"] = logits_fake_d.detach()
    tensors["d_loss.hinge"] = d_hinge.detach()
    tensors["d_loss.vanilla"] = d_vanilla.detach()
    for (k, _), g in zip(disc_params, d_grads):
        tensors["dgrad.loss.discriminator." + k] = g.float()
    for k, v in disc_module.state_dict().items():
        if k in bn_keys:
            tensors["bn_after.loss.discriminator." + k] = v.clone()

    meta = {k: json.dumps(v) for k, v in dd.items()}
    meta.update({"n_embed": json.dumps(n_embed), "embed_dim": json.dumps(embed_dim), "beta": json.dumps(beta),
                 "disc_input_nc": json.dumps(disc["input_nc"]), "disc_ndf": json.dumps(disc["ndf"]),
                 "disc_n_layers": json.dumps(disc["n_layers"]), "disc_use_actnorm": json.dumps(disc["use_actnorm"]),
                 "codebook_weight": json.dumps(codebook_weight), "pixel_loss": json.dumps("l1"),
                 "perceptual_weight": json.dumps(0.0), "disc_factor": json.dumps(disc_factor),
                 "disc_weight": json.dumps(disc_weight), "ae_q_loss": json.dumps("paper"),
                 "batch": json.dumps(x.shape[0]), "groups": json.dumps(TAMING_GROUPS[0]),
                 "layer": "taming VQModel + VQLPIPSWithDiscriminator (no LPIPS), one generator and one discriminator step",
                 "torch": torch.__version__})
    save(path, tensors, meta)
    TAMING_GROUPS[0] = 32
    top2 = torch.topk(dist.detach(), 2, dim=1, largest=False).values
    return {"distinct_indices": int(indices.unique().numel()), "min_argmin_margin": float((top2[:, 1] - top2[:, 0]).min())}


# ---------------------------------------------------------------------------------------------------------------
# BEiT masked image modeling (microsoft/unilm, beit/): the block-wise masking generator of masking_generator.py and
# VisionTransformerForMaskedImageModeling of modeling_pretrain.py with the Block / Attention / RelativePositionBias /
# PatchEmbed of modeling_finetune.py, restated here. Module and attribute names follow BEiT, so state_dict() keys are
# BEiT's checkpoint keys.
# ---------------------------------------------------------------------------------------------------------------

class RecordingRandom:
    """The two calls BEiT's masking generator makes on Python's random module, recorded: kind 0 is the random() value
    behind a uniform(a, b) (CPython returns a + (b - a) * r), kind 1 a randint(a, b) result."""

    def __init__(self, seed):
        self.rng = random.Random(seed)  # same stream as random.seed(seed) followed by the module functions
        self.kinds, self.draws = [], []

    def uniform(self, a, b):
        r = self.rng.random()
        self.kinds.append(0)
        self.draws.append(r)
        return a + (b - a) * r

    def randint(self, a, b):
        v = self.rng.randint(a, b)
        self.kinds.append(1)
        self.draws.append(float(v))
        return v


class BeitMaskingGenerator:
    """masking_generator.py MaskingGenerator: rectangles of random area and aspect ratio are added until
    num_masking_patches cells are masked, or until one round of 10 attempts adds nothing."""

    def __init__(self, height, width, num_masking_patches, min_num_patches=4, max_num_patches=None,
                 min_aspect=0.3, max_aspect=None):
        self.height, self.width = height, width
        self.num_masking_patches = num_masking_patches
        self.min_num_patches = min_num_patches
        self.max_num_patches = num_masking_patches if max_num_patches is None else max_num_patches
        max_aspect = max_aspect or 1 / min_aspect
        self.log_aspect_ratio = (math.log(min_aspect), math.log(max_aspect))

    def _add_block(self, mask, rng, max_mask_patches):
        added = 0
        for _ in range(10):
            # the bounds are reversed when fewer than min_num_patches cells are left to mask; uniform() allows that
            area = rng.uniform(self.min_num_patches, max_mask_patches)
            aspect = math.exp(rng.uniform(self.log_aspect_ratio[0], self.log_aspect_ratio[1]))
            h = int(round(math.sqrt(area * aspect)))
            w = int(round(math.sqrt(area / aspect)))
            if w < self.width and h < self.height:
                top = rng.randint(0, self.height - h)
                left = rng.randint(0, self.width - w)
                already = sum(mask[i][j] for i in range(top, top + h) for j in range(left, left + w))
                if 0 < h * w - already <= max_mask_patches:
                    for i in range(top, top + h):
                        for j in range(left, left + w):
                            if mask[i][j] == 0:
                                mask[i][j] = 1
                                added += 1
                if added > 0:
                    break
        return added

    def __call__(self, rng):
        mask = [[0] * self.width for _ in range(self.height)]
        count = 0
        while count < self.num_masking_patches:
            added = self._add_block(mask, rng, min(self.num_masking_patches - count, self.max_num_patches))
            if added == 0:
                break
            count += added
        return mask


BEIT_MASK_CONFIGS = [
    # name, seed, count, generator arguments (height, width, num_masking_patches, min, max, min_aspect, max_aspect)
    ("beit", 1001, 600, dict(height=14, width=14, num_masking_patches=75, min_num_patches=16)),
    ("small8", 1002, 400, dict(height=8, width=8, num_masking_patches=26, min_num_patches=4)),
    ("grid7", 1003, 400, dict(height=7, width=7, num_masking_patches=20, min_num_patches=4)),
    ("rect", 1004, 200, dict(height=6, width=10, num_masking_patches=24, min_num_patches=3, max_num_patches=12,
                             min_aspect=0.5, max_aspect=3.0)),
]


def beit_masks_fixture(path):
    """BEiT's masking generator on several grids, with every random draw recorded so the masks can be replayed."""
    tensors, configs, stats = {}, [], {}
    for name, seed, count, args in BEIT_MASK_CONFIGS:
        gen = BeitMaskingGenerator(**args)
        rng = RecordingRandom(seed)
        masks, calls = [], []
        for _ in range(count):
            before = len(rng.kinds)
            masks.append(gen(rng))
            calls.append(len(rng.kinds) - before)
        tensors["masks." + name] = torch.tensor(masks, dtype=torch.uint8)
        tensors["kinds." + name] = torch.tensor(rng.kinds, dtype=torch.int32)
        tensors["draws." + name] = torch.tensor(rng.draws, dtype=torch.float64)
        tensors["calls." + name] = torch.tensor(calls, dtype=torch.int32)
        counts = tensors["masks." + name].flatten(1).sum(1).tolist()
        stats[name] = {"mean_masked": sum(counts) / count,
                       "hit_target": sum(c == gen.num_masking_patches for c in counts) / count,
                       "min_masked": min(counts), "max_masked": max(counts), "rng_calls": len(rng.kinds)}
        configs.append({"name": name, "seed": seed, "height": gen.height, "width": gen.width,
                        "num_masking_patches": gen.num_masking_patches, "min_num_patches": gen.min_num_patches,
                        "max_num_patches": gen.max_num_patches, "max_num_patches_given": args.get("max_num_patches"),
                        "min_aspect": args.get("min_aspect", 0.3),
                        "max_aspect": args.get("max_aspect") or 1 / args.get("min_aspect", 0.3),
                        "max_aspect_given": args.get("max_aspect"),
                        "log_aspect_ratio": list(gen.log_aspect_ratio), "count": count})
    save(path, tensors, {"configs": json.dumps(configs), "layer": "BEiT MaskingGenerator (masking_generator.py)",
                         "kinds": json.dumps({"0": "random() behind uniform(a, b)", "1": "randint(a, b) result"}),
                         "python": sys.version.split()[0], "torch": torch.__version__})
    return stats


class BeitRelativePositionBias(nn.Module):
    """modeling_finetune.py RelativePositionBias: one table shared by all blocks, returned as (heads, N+1, N+1)."""

    def __init__(self, window, heads, device=None):
        super().__init__()
        self.window = window
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window[0] - 1) * (2 * window[1] - 1) + 3, heads, device=device))
        self.register_buffer("relative_position_index", relative_position_index(*window))

    def forward(self):
        n = self.window[0] * self.window[1] + 1
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        return bias.permute(2, 0, 1).contiguous()


class BeitAttention(nn.Module):
    """modeling_finetune.py Attention with qkv_bias: qkv has no bias of its own, q_bias and v_bias are added (k gets
    zeros); the shared relative position bias comes in as an argument (no per-layer table)."""

    def __init__(self, dim, heads, device=None):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False, device=device)
        self.q_bias = nn.Parameter(torch.zeros(dim, device=device))
        self.v_bias = nn.Parameter(torch.zeros(dim, device=device))
        self.proj = nn.Linear(dim, dim, device=device)

    def forward(self, x, rel_pos_bias=None):
        b, n, _ = x.shape
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        attn = (qkv[0] * self.scale) @ qkv[1].transpose(-2, -1)
        if rel_pos_bias is not None:
            attn = attn + rel_pos_bias
        return self.proj((attn.softmax(dim=-1) @ qkv[2]).transpose(1, 2).reshape(b, n, -1))


class BeitBlock(nn.Module):
    """modeling_finetune.py Block: pre-norm, LayerScale gammas when init_values > 0, drop path off."""

    def __init__(self, dim, heads, mlp_ratio, init_values, device=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6, device=device)
        self.attn = BeitAttention(dim, heads, device=device)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6, device=device)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(dim, int(dim * mlp_ratio), device=device)
        self.mlp.fc2 = nn.Linear(int(dim * mlp_ratio), dim, device=device)
        if init_values:
            self.gamma_1 = nn.Parameter(init_values * torch.ones(dim, device=device))
            self.gamma_2 = nn.Parameter(init_values * torch.ones(dim, device=device))
        else:
            self.gamma_1 = self.gamma_2 = None

    def forward(self, x, rel_pos_bias=None):
        a = self.attn(self.norm1(x), rel_pos_bias=rel_pos_bias)
        x = x + (a if self.gamma_1 is None else self.gamma_1 * a)
        m = self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))
        return x + (m if self.gamma_2 is None else self.gamma_2 * m)


class BeitForMaskedImageModeling(nn.Module):
    """modeling_pretrain.py VisionTransformerForMaskedImageModeling (dropout and drop path 0): masked patches are
    replaced by mask_token before [CLS] is prepended, lm_head scores the masked positions only, in x[bool_masked_pos]
    order (image by image, row-major within an image)."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3, vocab_size=8192, embed_dim=768, depth=12, heads=12,
                 mlp_ratio=4.0, init_values=0.1, use_abs_pos_emb=False, use_shared_rel_pos_bias=True, device=None):
        super().__init__()
        grid = (img_size // patch_size, img_size // patch_size)
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size, device=device)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim, device=device))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dim, device=device))
        self.pos_embed = (nn.Parameter(torch.zeros(1, grid[0] * grid[1] + 1, embed_dim, device=device))
                          if use_abs_pos_emb else None)
        self.rel_pos_bias = BeitRelativePositionBias(grid, heads, device=device) if use_shared_rel_pos_bias else None
        self.blocks = nn.ModuleList([BeitBlock(embed_dim, heads, mlp_ratio, init_values, device=device)
                                     for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6, device=device)
        self.lm_head = nn.Linear(embed_dim, vocab_size, device=device)

    def forward(self, x, bool_masked_pos):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        b, n, _ = x.shape
        w = bool_masked_pos.unsqueeze(-1).type_as(x)
        x = x * (1 - w) + self.mask_token.expand(b, n, -1) * w
        x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        rel = self.rel_pos_bias() if self.rel_pos_bias is not None else None
        for blk in self.blocks:
            x = blk(x, rel_pos_bias=rel)
        x = self.norm(x)[:, 1:]
        return self.lm_head(x[bool_masked_pos])


def beit_param_counts(name, embed_dim, depth, heads):
    """Parameter count (buffers excluded) of a full-size BEiT MIM model built on the meta device (no memory),
    checked against the count from the shapes."""
    model = BeitForMaskedImageModeling(embed_dim=embed_dim, depth=depth, heads=heads, device="meta")
    total = sum(p.numel() for p in model.parameters())
    d, g, v = embed_dim, 14, 8192
    block = 2 * 2 * d + 3 * d * d + 2 * d + d * d + d + 4 * d * d + 4 * d + 4 * d * d + d + 2 * d
    expected = 3 * 16 * 16 * d + d + 2 * d + ((2 * g - 1) ** 2 + 3) * heads + depth * block + 2 * d + d * v + v
    assert total == expected, (name, total, expected)
    head = model.lm_head.weight.numel() + model.lm_head.bias.numel()
    return total, total - head


def randomize_beit(model, g):
    """Float32 random parameters that keep activations O(1) and make every parameter matter: linear and conv weights
    N(0, 1/fan_in), biases and q/v biases N(0, 0.1^2), LayerNorm weights 1 + N(0, 0.2^2) and biases N(0, 0.1^2),
    LayerScale gammas uniform in [0.2, 0.8), the relative position table N(0, 0.5^2), cls/mask tokens N(0, 1),
    pos_embed N(0, 0.5^2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if name.startswith("norm") or ".norm" in name:
                r = torch.randn(p.shape, generator=g)
                p.copy_(1.0 + 0.2 * r if leaf == "weight" else 0.1 * r)
            elif leaf == "weight":
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))
            elif leaf in ("gamma_1", "gamma_2"):
                p.copy_(0.2 + 0.6 * torch.rand(p.shape, generator=g))
            elif leaf == "relative_position_bias_table":
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif leaf in ("cls_token", "mask_token"):
                p.copy_(torch.randn(p.shape, generator=g))
            elif leaf == "pos_embed":
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:  # bias, q_bias, v_bias
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


BEIT_MIM_TINY = {"img_size": 16, "patch_size": 4, "in_chans": 3, "vocab_size": 24, "embed_dim": 32, "depth": 2,
                 "heads": 4, "mlp_ratio": 4.0, "init_values": 0.1}


def beit_mim_fixture(path):
    """One forward/backward of a tiny BEiT MIM model (shared relative position bias, no absolute position embedding),
    and of its variant with an absolute position embedding and no relative bias, in float64 from float32 weights."""
    g = torch.Generator().manual_seed(41)
    batch = 3
    x = torch.randn(batch, 3, 16, 16, generator=g)
    # 7 of 16 cells, blocks of at least 4: the seed gives three different masks, one of them a cell short of the
    # target (BEiT's generator allows it), so the images do not contribute equally many masked tokens
    mask_args, mask_seed = {"height": 4, "width": 4, "num_masking_patches": 7, "min_num_patches": 4}, 62
    gen = BeitMaskingGenerator(**mask_args)
    rng = RecordingRandom(mask_seed)
    mask = torch.tensor([sum(gen(rng), []) for _ in range(batch)], dtype=torch.bool)
    assert len(set(mask.sum(1).tolist())) > 1 and len(set(map(tuple, mask.tolist()))) == batch
    m = int(mask.sum())
    labels = torch.randint(0, BEIT_MIM_TINY["vocab_size"], (m,), generator=g)
    tensors = {"input.x": x, "input.mask": mask.to(torch.uint8), "input.labels": labels}
    meta = {"layer": "BEiT VisionTransformerForMaskedImageModeling (modeling_pretrain.py), tiny",
            "batch": json.dumps(batch), "masked": json.dumps(m),
            "mask_generator": json.dumps(dict(mask_args, seed=mask_seed)), "torch": torch.__version__}
    result = {"masked_per_image": mask.sum(1).tolist()}
    for prefix, abs_pos in (("", False), ("abs.", True)):
        cfg = dict(BEIT_MIM_TINY, use_abs_pos_emb=abs_pos, use_shared_rel_pos_bias=not abs_pos)
        model = BeitForMaskedImageModeling(**cfg)
        randomize_beit(model, g)
        for k, p in model.named_parameters():
            tensors[prefix + "param." + k] = p.detach().clone()
        if not abs_pos:
            tensors["buffer.rel_pos_bias.relative_position_index"] = model.rel_pos_bias.relative_position_index
        model.double()
        xd = x.double().requires_grad_(True)
        logits = model(xd, mask)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        tensors[prefix + "logits"] = logits.detach()
        tensors[prefix + "loss"] = loss.detach()
        for k, p in model.named_parameters():
            tensors[prefix + "grad." + k] = p.grad
        tensors[prefix + "grad.input.x"] = xd.grad
        meta[prefix + "config"] = json.dumps(cfg)
        result[prefix + "loss"] = loss.item()
    for name, d, depth, heads in (("beit_base_patch16_224_8k_vocab", 768, 12, 12),
                                  ("beit_large_patch16_224_8k_vocab", 1024, 24, 16)):
        total, backbone = beit_param_counts(name, d, depth, heads)
        meta["params." + name] = json.dumps(total)
        meta["backbone_params." + name] = json.dumps(backbone)
        result["params." + name] = (total, backbone)
    save(path, tensors, meta)
    return result


def main(out, pipeline_out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    lin = nn.Linear(5, 3)
    layer_fixture(os.path.join(out, "linear.safetensors"), lin, {"x": torch.randn(4, 2, 5)}, {"layer": "Linear(5, 3)"})

    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    layer_fixture(os.path.join(out, "conv2d_stride2_groups2.safetensors"), conv, {"x": torch.randn(2, 4, 7, 6)},
                  {"layer": "Conv2d(4, 6, 3, stride=2, padding=1, groups=2)"})

    dw = nn.Conv2d(4, 4, 3, stride=1, padding=1, groups=4)
    layer_fixture(os.path.join(out, "conv2d_depthwise.safetensors"), dw, {"x": torch.randn(2, 4, 5, 5)},
                  {"layer": "Conv2d(4, 4, 3, padding=1, groups=4)"})

    gn = nn.GroupNorm(2, 4)
    randomize(gn)
    layer_fixture(os.path.join(out, "group_norm.safetensors"), gn, {"x": torch.randn(2, 4, 3, 3) * 2 + 1},
                  {"layer": "GroupNorm(2, 4)"})

    ln = nn.LayerNorm(8, eps=1e-6)
    randomize(ln)
    layer_fixture(os.path.join(out, "layer_norm.safetensors"), ln, {"x": torch.randn(2, 3, 8) * 3 - 1},
                  {"layer": "LayerNorm(8, eps=1e-6)"})

    layer_fixture(os.path.join(out, "gelu.safetensors"), nn.GELU(), {"x": torch.randn(3, 7) * 2}, {"layer": "GELU()"})

    attn = Attention(16, 4, (3, 3))
    randomize(attn)
    layer_fixture(os.path.join(out, "attention_relpos.safetensors"), attn, {"x": torch.randn(2, 10, 16)},
                  {"layer": "BEiT Attention(dim=16, heads=4, window=3x3)", "dim": "16", "heads": "4", "window": "3,3"})

    block = Block(16, 4, (2, 3), 0.1)
    randomize(block)
    layer_fixture(os.path.join(out, "beit_block.safetensors"), block, {"x": torch.randn(2, 7, 16)},
                  {"layer": "BEiT Block(dim=16, heads=4, window=2x3, layer scale)", "dim": "16", "heads": "4",
                   "window": "2,3"})

    logits = torch.randn(6, 5) * 2
    target = torch.tensor([0, 4, 2, 2, 1, 3])
    logits.requires_grad_(True)
    loss = F.cross_entropy(logits, target, label_smoothing=0.1)
    loss.backward()
    save(os.path.join(out, "cross_entropy_smoothing.safetensors"),
         {"input.logits": logits.detach(), "input.target": target, "output": loss.detach(),
          "grad.input.logits": logits.grad}, {"layer": "cross_entropy(label_smoothing=0.1)", "torch": torch.__version__})

    adamw_fixture(os.path.join(out, "adamw_trajectory.safetensors"))
    dtypes_fixture(os.path.join(out, "dtypes.safetensors"))
    interpolate_fixture(os.path.join(out, "interpolate.safetensors"))
    os.makedirs(pipeline_out, exist_ok=True)
    moco_v3_fixture(os.path.join(pipeline_out, "moco_v3_vit.safetensors"))
    moco_v3_loss_fixture(os.path.join(pipeline_out, "moco_v3_step.safetensors"))
    vqgan_fixture(os.path.join(pipeline_out, "vqgan_tiny.safetensors"))
    print(beit_masks_fixture(os.path.join(pipeline_out, "beit_masks.safetensors")))
    print(beit_mim_fixture(os.path.join(pipeline_out, "beit_mim_tiny.safetensors")))


SINGLE = {"vqgan": (vqgan_fixture, "vqgan_tiny.safetensors"), "beit_masks": (beit_masks_fixture, "beit_masks.safetensors"),
          "beit_mim": (beit_mim_fixture, "beit_mim_tiny.safetensors")}

if __name__ == "__main__":
    if len(sys.argv) > 3:  # only one pipeline fixture: vqgan, beit_masks or beit_mim
        if sys.argv[3] not in SINGLE:
            sys.exit("unknown fixture %r; one of %s" % (sys.argv[3], ", ".join(SINGLE)))
        fixture, file = SINGLE[sys.argv[3]]
        folder = sys.argv[2]
        os.makedirs(folder, exist_ok=True)
        print(fixture(os.path.join(folder, file)))
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "nn/src/test/resources/fixtures",
             sys.argv[2] if len(sys.argv) > 2 else "pipeline/src/test/resources/fixtures")

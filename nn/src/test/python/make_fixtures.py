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
"""
import json
import math
import os
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


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "nn/src/test/resources/fixtures",
         sys.argv[2] if len(sys.argv) > 2 else "pipeline/src/test/resources/fixtures")

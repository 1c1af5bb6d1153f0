#!/usr/bin/env python3
"""Converts a taming-transformers VQGAN checkpoint (a PyTorch Lightning .ckpt, e.g. vqgan_imagenet_f16_16384's
last.ckpt) into a safetensors file that peco4j loads strictly by taming's names (VQModel.load with the matching
VQModel.Config, e.g. Config.vqganF16().withCodes(16384)):

    /usr/bin/python3 scripts/convert-taming.py last.ckpt vqgan-f16.safetensors

It keeps the autoencoder (encoder.*, decoder.*, quantize.*, quant_conv.*, post_quant_conv.*) and the PatchGAN
discriminator (loss.discriminator.*, its BatchNorm buffers included), drops LPIPS (loss.perceptual_loss.*: peco4j
uses its own perceptual networks), and writes floating tensors as float32, the BatchNorms' counters as int64.
Needs PyTorch (Debian: apt-get install python3-torch).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_file  # noqa: E402

KEEP = ("encoder.", "decoder.", "quantize.", "quant_conv.", "post_quant_conv.", "loss.discriminator.")


def main(src, dst):
    ckpt = torch.load(src, map_location="cpu")
    state = ckpt.get("state_dict", ckpt)
    keep = {k: v for k, v in state.items() if k.startswith(KEEP)}
    if not any(k.startswith("encoder.") for k in keep):
        sys.exit("convert-taming: %s has no encoder.* tensors (is it a taming VQModel checkpoint?)" % src)
    safetensors_file.write(dst, keep, {"format": "taming-vqgan", "source": os.path.basename(src),
                                       "global_step": str(ckpt.get("global_step", ""))})
    print("convert-taming: %d tensors (%d parameters) -> %s" % (len(keep), sum(t.numel() for t in keep.values()), dst))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

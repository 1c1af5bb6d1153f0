#!/usr/bin/env python3
"""Converts a MoCo v3 checkpoint (facebookresearch/moco-v3, e.g. vit-b-300ep.pth.tar) into a safetensors
file that peco4j loads strictly by timm's names (VisionTransformer.load with Config.mocoV3):

    /usr/bin/python3 scripts/convert-moco-v3.py vit-b-300ep.pth.tar vit-b-300ep.safetensors

It keeps the base encoder (`module.base_encoder.*`, as moco-v3's convert_to_deit.py), strips that prefix,
drops the projector head (`head.*`), the momentum encoder and the predictor, and writes every tensor as
float32 (pos_embed included: the fixed sin-cos table). Needs PyTorch (Debian: apt-get install python3-torch).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_file  # noqa: E402

PREFIX = "module.base_encoder."


def main(src, dst):
    ckpt = torch.load(src, map_location="cpu")
    state = ckpt.get("state_dict", ckpt)
    keep = {}
    for k, v in state.items():
        if k.startswith(PREFIX) and not k.startswith(PREFIX + "head."):
            keep[k[len(PREFIX):]] = v.detach().to(torch.float32).contiguous()
    if not keep:
        sys.exit("convert-moco-v3: %s has no %s* tensors (is it a MoCo v3 checkpoint?)" % (src, PREFIX))
    safetensors_file.write(dst, keep, {"format": "moco-v3-vit", "source": os.path.basename(src), "arch": str(ckpt.get("arch", "")),
                                       "epoch": str(ckpt.get("epoch", ""))})
    print("convert-moco-v3: %d tensors (%d parameters) -> %s" % (len(keep), sum(t.numel() for t in keep.values()), dst))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

"""Writes a safetensors file with only the standard library and PyTorch tensors: an 8-byte little-endian header
length, the JSON header padded with spaces to a multiple of 8, then each tensor's bytes in header order. The file
appears atomically (written to <dst>.tmp, then renamed). Shared by the scripts/convert-*.py converters."""
import json
import os
import struct

import torch


def write(dst, tensors, metadata):
    """tensors: name -> torch.Tensor (floating ones written as float32, integer ones as int64); metadata: str -> str."""
    header, blobs, offset = {"__metadata__": dict(metadata)}, [], 0
    for name, t in tensors.items():
        t = t.detach().to(torch.float32 if t.is_floating_point() else torch.int64).contiguous()
        b = t.numpy().tobytes()
        header[name] = {"dtype": "F32" if t.dtype == torch.float32 else "I64", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, dst)

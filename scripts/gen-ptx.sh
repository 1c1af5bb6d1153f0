#!/usr/bin/env bash
# Compiles the device kernels (prelude.gpu.h + kernels.gpu.c) as CUDA C to PTX for compute_75 and
# writes tensor/src/main/resources/dev/peco4j/tensor/kernels.ptx, whose first line names the SHA-256
# of the sources. The CUDA backend loads it where NVRTC is not installed; CudaRuntime refuses it,
# and KernelDialectTest fails, once the sources change without running this again. Needs nvcc (CUDA 11.2+).
set -euo pipefail
cd "$(dirname "$0")/.."
res=tensor/src/main/resources/dev/peco4j/tensor
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[ -x "$nvcc" ] || { echo "gen-ptx: no nvcc (set NVCC or install the CUDA toolkit)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{ cat "$res/prelude.gpu.h"; printf '\n'; cat "$res/kernels.gpu.c"; } > "$tmp/kernels.cu"
"$nvcc" -ptx -arch=compute_75 "$tmp/kernels.cu" -o "$tmp/kernels.ptx"
digest=$(sha256sum "$tmp/kernels.cu" | cut -d' ' -f1)
{ echo "// peco4j kernels.ptx: prelude.gpu.h + kernels.gpu.c, sha256 $digest"; echo "// made by scripts/gen-ptx.sh with $("$nvcc" --version | tail -1)"; cat "$tmp/kernels.ptx"; } > "$tmp/out.ptx"
mv "$tmp/out.ptx" "$res/kernels.ptx"
echo "gen-ptx: $res/kernels.ptx ($(wc -c < "$res/kernels.ptx") bytes, $(grep -c '^.visible .entry' "$res/kernels.ptx") entries, sources $digest)"

#!/usr/bin/env bash
# The device checks of a peco4j bundle (scripts/bundle.sh) as one script, for a machine with no JDK:
#   1. `peco info` (the JDK, the vector width, the devices);
#   2. the device tests: every kernel against the host reference on OpenCL and on CUDA (each where
#      it exists), the kernels' CUDA C build (where nvcc is installed) and the shipped PTX, 20
#      training steps of the classifier and the MIM model on each device against the host;
#   3. whole training steps on the device (StepBench --device), and the same steps in PyTorch on its
#      GPU where PyTorch sees one.
# Usage: ./run.sh [device, default cuda where an NVIDIA driver is loaded, else opencl] [cases separated by ';', default: the 224-px MIM and
# tokenizer steps]. Results go to results/ beside this script; each part has a time limit (tests
# 120 s, each step 45 s here and 30 s in PyTorch), so the whole run stays under 5 minutes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
default=opencl
[ -e /dev/nvidiactl ] && default=cuda
device=${1:-$default}
cases=${2:-"step mim vit-b16 224px b8;step tokenizer vqgan-f16 224px b2"}
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do   # NVIDIA's libOpenCL.so.1 when no ICD loader is installed
  [ -d "$d" ] && LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d
done
# NVRTC compiles the kernels for the GPU at hand; PyTorch's wheels carry one (nvidia/cuda_nvrtc) off the loader's path.
if command -v python3 >/dev/null; then
  nvrtc=$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null | xargs -r -n1 sh -c 'find "$0" -name "libnvrtc.so*" 2>/dev/null' | sort -r | head -1)
  [ -n "$nvrtc" ] && LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$(dirname "$nvrtc")
fi
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
java=("$here/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xms2g)
cp="$here/lib/*"
res="$here/results"
mkdir -p "$res"
rc=0

echo "== info"
timeout 60 "${java[@]}" -cp "$cp" dev.peco4j.peco.cli.Main info 2>&1 | grep -v '^WARNING: Using incubator' | tee "$res/info.txt"

echo "== device tests"
jars=$(printf '%s:' "$here"/lib/*.jar)   # JUnit's launcher takes no wildcard
timeout 120 "${java[@]}" -jar "$here"/lib/junit-platform-console-standalone-*.jar execute --class-path "$jars" \
  --select-class dev.peco4j.tensor.CudaBackendTest --select-class dev.peco4j.tensor.OpenClBackendTest \
  --select-class dev.peco4j.tensor.KernelDialectTest \
  --select-class dev.peco4j.peco.DeviceTrainingTest --details=tree --disable-banner > "$res/tests.txt" 2>&1 || rc=1
tail -25 "$res/tests.txt"

echo "== training steps on $device"
IFS=';' read -ra list <<< "$cases"
for c in "${list[@]}"; do
  timeout 45 "${java[@]}" -cp "$cp" dev.peco4j.bench.StepBench --device "$device" "$res/steps.jsonl" "$c" 2>&1 \
    | grep -E '^peco4j|Exception|peco:' || echo "peco4j  $c: failed or over 45 s"
  if command -v python3 >/dev/null && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    timeout 30 python3 "$here/steps_torch.py" 1 "$res/steps.jsonl" "$c" --device cuda 2>&1 | grep -E '^pytorch|Error' || echo "pytorch $c: failed or over 30 s"
  fi
done
echo "results in $res (rc $rc)"
exit $rc

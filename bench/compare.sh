#!/usr/bin/env bash
# One command for the side-by-side comparison: peco4j, PyTorch 1.13 (Debian, OpenMP OpenBLAS),
# numpy/OpenBLAS and libtorch 2.7.1 (DJL, offline) on the same shapes, 1 and 2 threads, in one run:
# the machine's FMA peak and bandwidth, the kernels, then one training step of every PeCo stage
# (bench/.../Steps.java against bench/steps_torch.py).
# Prints a markdown table of ratios and writes it to bench/target/compare.md.
#   bash bench/compare.sh            # all cases
#   bash bench/compare.sh sgemm      # cases whose names start with these (comma-separated)
#   bash bench/compare.sh "step mim" # the MIM steps only
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
only="${1:-}"

# Peers from Debian, installed when missing: the OpenMP build of OpenBLAS, because the default
# pthread build fights PyTorch's OpenMP threads and halves its 2-thread speed.
need=()
dpkg -s python3-torch >/dev/null 2>&1 || need+=(python3-torch)
dpkg -s python3-numpy >/dev/null 2>&1 || need+=(python3-numpy)
dpkg -s libopenblas0-openmp >/dev/null 2>&1 || need+=(libopenblas0-openmp)
if [ ${#need[@]} -gt 0 ]; then
  echo "compare: installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then echo "compare: need root (or sudo) to apt-get install ${need[*]}" >&2; exit 1; fi
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
openmp=/usr/lib/x86_64-linux-gnu/openblas-openmp

echo "compare: building (mvn -Pdjl -DskipTests package -pl bench -am)" >&2
mvn -q -Pdjl -DskipTests package -pl bench -am >&2
java=$(PECO4J_JAVA="${PECO4J_JAVA:-}" bash -c 'source <(sed -n "/^java_version()/,/^}/p;/^find_java()/,/^}/p" ./peco); find_java')
cp="bench/target/classes:bench/target/lib/*"
out=bench/target/compare.jsonl
rm -f "$out"
selected() { # a case is run when no filter is given or its name starts with one of the filter's names
  [ -z "$only" ] && return 0
  local o os
  IFS=, read -ra os <<< "$only"
  for o in "${os[@]}"; do [[ "$1" == "$o"* ]] && return 0; done
  return 1
}
failed() { # case, threads, peer: a JSON line the report shows as failed
  echo "compare: $3 failed on '$1' with $2 threads (its output is above)" >&2
  printf '{"case":"%s","threads":%d,"peer":"%s","failed":true,"images":0}\n' "$1" "$2" "$3" >> "$out"
}
mapfile -t steps < <("$java" --add-modules jdk.incubator.vector -cp "$cp" dev.peco4j.bench.StepBench --list 2>/dev/null)
for t in 1 2; do
  OMP_NUM_THREADS=$t LD_LIBRARY_PATH="$openmp" DJL_OFFLINE=true \
    "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g -Dpeco4j.threads=$t \
    -cp "$cp" dev.peco4j.bench.Compare "$out" "$only"
  OMP_NUM_THREADS=$t LD_LIBRARY_PATH="$openmp" /usr/bin/python3 bench/compare_torch.py $t "$out" "$only"
  # whole training steps: one process per case and peer, so each peak RSS is the case's own. The JVM
  # runs with the launcher's settings (a 2 GiB initial heap), except that at 224 px it may take 75% of
  # the memory (the default 25% runs out on the f16 tokenizer; 75% for the small cases made them
  # slower and doubled their RSS); a case that fails is recorded as failed and the run goes on
  # The small cases run three rounds, peco4j and PyTorch alternating, and the report keeps each peer's
  # best process: on a shared host one process of the same step measured up to 40% slower than the next.
  for c in "${steps[@]}"; do
    selected "$c" || continue
    heap=(-Xms2g)
    rounds=3
    [[ "$c" == *224px* ]] && heap=(-Xms2g -XX:MaxRAMPercentage=75) && rounds=1
    for ((r = 0; r < rounds; r++)); do
      "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED "${heap[@]}" -Dpeco4j.threads=$t \
        -cp "$cp" dev.peco4j.bench.StepBench "$out" "$c" || failed "$c" $t peco4j
      OMP_NUM_THREADS=$t LD_LIBRARY_PATH="$openmp" /usr/bin/python3 bench/steps_torch.py $t "$out" "$c" || failed "$c" $t PyTorch
    done
  done
done
{
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $("$java" -version 2>&1 | head -n 1)"
  echo
  /usr/bin/python3 bench/compare_report.py "$out"
} | tee bench/target/compare.md

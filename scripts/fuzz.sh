#!/usr/bin/env bash
# The nightly-style fuzz run: every file reader (safetensors, checkpoint, JSON, IDX, IDX.gz, .tgz,
# PNG, JPEG, TF.js weights) gets N mutations (default 10000) of a valid input, in a JVM limited to -Xmx256m.
# Usage: bash scripts/fuzz.sh [N] [seed]   (a failure prints -Dpeco4j.fuzz.replay=<reader>:<index>)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
seed="${2:-0}"
mvn -q install -DskipTests -pl tensor,nn >/dev/null
mvn test -pl nn,pipeline -Dtest='ReadersFuzzTest,TfjsWeightsTest#readsFromATgzAndSurvivesTheFuzzer' -Dsurefire.failIfNoSpecifiedTests=false \
  -Dpeco4j.fuzz.mutations="$n" -Dpeco4j.fuzz.seed="$seed" \
  "-Dpeco4j.jvmArgs=--add-modules jdk.incubator.vector -Xmx256m" \
  | grep -E 'fuzz |Tests run:|FAIL|replay|BUILD' | sed 's/\x1b\[[0-9;]*m//g'

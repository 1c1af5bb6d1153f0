#!/usr/bin/env bash
# A self-contained bundle for a machine that has a GPU (CUDA, PyTorch) but no JDK, such as the
# device machines lent to this project: one folder that needs nothing installed.
#
#   runtime/          a jlink'ed JDK 25 with the modules run.sh needs (java.base,
#                     jdk.incubator.vector, java.logging, java.management, ...), --strip-debug
#                     --compress zip-9; without java.desktop, so not for the image or plot commands
#   lib/              the project's jars, the dependencies they load there, the test classes and
#                     JUnit's console launcher
#   steps_torch.py    the same training steps in PyTorch (bench/steps_torch.py)
#   run.sh            the device checks as one script (see its header)
#
# Usage: bash scripts/bundle.sh [folder, default dist/peco4j-bundle]. It builds with Maven (the
# launcher jar comes from Maven Central at build time; nothing downloads when the bundle runs) and
# refuses a bundle over 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/peco4j-bundle}
release=$(grep -ls 'JAVA_VERSION="25' /usr/lib/jvm/*/release 2>/dev/null | head -1 || true)
[ -n "$release" ] || { echo "bundle: no JDK 25 under /usr/lib/jvm" >&2; exit 1; }
jdk=$(dirname "$release")
junit=1.11.4  # the JUnit platform of junit-jupiter 5.11.4 (pom.xml)

mvn -q -DskipTests package
rm -rf "$out"
mkdir -p "$out/lib"
abs=$(cd "$out" && pwd)
cp tensor/target/peco4j-tensor-*.jar nn/target/peco4j-nn-*.jar pipeline/target/peco4j-peco.jar "$abs/lib/"
rm -f "$abs"/lib/*-sources.jar "$abs"/lib/*-tests.jar
mvn -q dependency:copy-dependencies -pl pipeline -DincludeScope=runtime -DexcludeGroupIds=dev.peco4j -DoutputDirectory="$abs/lib"
mvn -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$junit -DoutputDirectory="$abs/lib"
"$jdk/bin/jar" --create --file "$abs/lib/peco4j-tensor-tests.jar" -C tensor/target/test-classes .
"$jdk/bin/jar" --create --file "$abs/lib/peco4j-peco-tests.jar" -C pipeline/target/test-classes .
"$jdk/bin/jar" --create --file "$abs/lib/peco4j-bench.jar" -C bench/target/classes .

# The modules of what run.sh runs (the tensor core, training steps, JUnit's launcher): not java.desktop,
# which the image and plot code needs (jdeps asks for it) and which would put the bundle over 64 MiB.
modules=java.base,java.logging,java.management,java.xml,jdk.incubator.vector,jdk.unsupported,jdk.zipfs
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --compress zip-9 --no-header-files --no-man-pages --output "$abs/runtime"
# and only the jars it loads
rm -f "$abs"/lib/{pdfbox,fontbox,xchart,VectorGraphics2D,graphics2d,animated-gif-lib,imageio,common-,commons-logging,commons-math3}*.jar
cp bench/steps_torch.py "$abs/"
cp scripts/bundle-run.sh "$abs/run.sh"
chmod +x "$abs/run.sh"

size=$(du -sm "$abs" | cut -f1)
echo "bundle: $abs, $size MiB (modules: $modules)"
[ "$size" -le 64 ] || { echo "bundle: $size MiB is over the 64 MiB limit" >&2; exit 1; }

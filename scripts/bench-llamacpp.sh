#!/usr/bin/env bash
# The runtime against llama.cpp on the same model, side by side in one run, on the CPU.
#
#   scripts/bench-llamacpp.sh [CONTEXTS] [DECODE_STEPS]      default: 2048,8192 32
#   THREADS=2 (both engines)   LLAMACPP_DIR=.llamacpp (npm folder)   MVN_OFFLINE= (set -o to keep Maven offline)
#   FLASH_ATTENTION=false (llama.cpp's flash attention on the CPU; node-llama-cpp's default is off)
#   CHECK=1 (0 skips step 3 on reruns of an unchanged model)
#
# 1. installs node-llama-cpp 3.22.1 from npm into $LLAMACPP_DIR with its prebuilt linux-x64 CPU binary only: no
#    postinstall (no download of llama.cpp sources or binaries, no compiler), no CUDA/Vulkan variants;
# 2. writes RuntimeBenchmark's synthetic Llama (hidden 768, 12 layers, 12/4 heads, intermediate 2048, vocab 2048,
#    YaRN 8 over 8192, f32) once, converts it to GGUF (f32), and records the runtime's logits at a few positions;
# 3. checks that llama.cpp's logits for the same token ids match them (else stops: the comparison would be void);
# 4. measures llama.cpp (f32 KV cache, batch 512, $THREADS threads), then the runtime (same threads, chunk 512), one
#    after the other, and prints one table with the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

CONTEXTS=${1:-2048,8192}
DECODE=${2:-32}
THREADS=${THREADS:-2}
NLC_VERSION=3.22.1
LLAMACPP_DIR=${LLAMACPP_DIR:-$PWD/.llamacpp}
MVN_OFFLINE=${MVN_OFFLINE-}
FLASH_ATTENTION=${FLASH_ATTENTION:-false}
# libtorch's CPU allocator puts large tensors (the weights) in transparent huge pages: what a deployment sets too
export THP_MEM_ALLOC_ENABLE=${THP_MEM_ALLOC_ENABLE:-1}
TARGET=model-runtime/target
MODEL=$TARGET/bench-model
OUT=$TARGET/llamacpp-bench
mkdir -p "$OUT"

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB, load average $(loadavg)"
echo "== node $(node --version), npm $(npm --version), $(java -version 2>&1 | head -1)"
if [ "$(uname -m)" != x86_64 ]; then
    echo "node-llama-cpp's prebuilt binary installed here is linux-x64; this machine is $(uname -m)" >&2
    exit 1
fi

# 1. node-llama-cpp, prebuilt CPU binary only
installed=$(node -p "try { require('$LLAMACPP_DIR/node_modules/node-llama-cpp/package.json').version } catch { '' }")
if [ "$installed" != "$NLC_VERSION" ]; then
    echo "== installing node-llama-cpp@$NLC_VERSION into $LLAMACPP_DIR"
    mkdir -p "$LLAMACPP_DIR"
    [ -f "$LLAMACPP_DIR/package.json" ] || echo '{"private": true}' > "$LLAMACPP_DIR/package.json"
    # --ignore-scripts: its postinstall would fetch llama.cpp's sources or binaries when it finds no prebuilt one;
    # NODE_LLAMA_CPP_SKIP_DOWNLOAD says the same to it should anything run it. --omit=optional leaves out the
    # CUDA/Vulkan/other-platform binaries (hundreds of MB); the CPU one is named explicitly.
    NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --prefix "$LLAMACPP_DIR" --no-audit --no-fund --ignore-scripts \
        --omit=optional "node-llama-cpp@$NLC_VERSION" "@node-llama-cpp/linux-x64@$NLC_VERSION"
fi
export LLAMACPP_DIR

# 2. build, model, GGUF, the runtime's logits for the check
echo "== building model-runtime (test classes) and its classpath"
./mvnw -B $MVN_OFFLINE -q -pl model-runtime test-compile
./mvnw -B $MVN_OFFLINE -q -pl model-runtime dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench.classpath
CP="$TARGET/test-classes:$TARGET/classes:$(cat $TARGET/bench.classpath)"
JAVA=(java -Xmx3g --add-modules jdk.incubator.vector -Dai.djl.offline=true -Dai.djl.pytorch.num_threads="$THREADS" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP")
if [ "${CHECK:-1}" = 1 ]; then
    "${JAVA[@]}" io.ultralong.runtime.bench.GgufExport --model "$MODEL" --write cpu-100m --gguf "$TARGET/bench-model.gguf" \
        --check "$OUT/check.json"
    # 3. same model, same logits?
    echo "== llama.cpp's logits against the runtime's"
    node scripts/llamacpp-bench.mjs check --gguf "$TARGET/bench-model.gguf" --check "$OUT/check.json" --threads "$THREADS"
else
    "${JAVA[@]}" io.ultralong.runtime.bench.GgufExport --model "$MODEL" --write cpu-100m --gguf "$TARGET/bench-model.gguf"
fi

# 4. one engine after the other on the same cores
echo "== llama.cpp: contexts $CONTEXTS, $DECODE decode steps, $THREADS threads (load average $(loadavg))"
node scripts/llamacpp-bench.mjs bench --gguf "$TARGET/bench-model.gguf" --vocab 2048 --contexts "$CONTEXTS" \
    --decode "$DECODE" --threads "$THREADS" --flash-attention "$FLASH_ATTENTION" --json "$OUT/llamacpp.json"
echo "== runtime: contexts $CONTEXTS, $DECODE decode steps, $THREADS threads (load average $(loadavg))"
"${JAVA[@]}" io.ultralong.runtime.bench.ThroughputBenchmark --model "$MODEL" --device cpu --contexts "$CONTEXTS" \
    --decode "$DECODE" --json "$OUT/runtime.json"

echo
echo "== runtime vs llama.cpp, same model, same machine, one run (load average $(loadavg), $(nproc) cores)"
node scripts/llamacpp-bench.mjs table "$OUT/runtime.json" "$OUT/llamacpp.json"

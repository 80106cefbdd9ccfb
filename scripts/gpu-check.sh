#!/usr/bin/env bash
# GPU check, sized for one ~8-minute run on one H100/H200 host with 16 cores (TOTAL_S, default 470 s):
#   1. environment: nvidia-smi, java -version, cores, memory, disk;
#   2. build model-runtime with -Pcuda (CUDA 12.4 libtorch) and run the reference tests on CUDA
#      (DeviceReferenceTest with -Dul.test.device=cuda: f16 within 1e-2 of the float64 reference, KV on the GPU and on
#      the host; LlamaRuntimeReferenceTest: the CPU path of the same CUDA build);
#   3. write a model with UltraLong-8B's exact config.json (32 layers, hidden 4096, 32/8 heads, intermediate 14336,
#      vocab 128256, YaRN factor 128 over 8192, beta 4/1, rope_theta 5e5), random bf16 weights (16 GB, all cores);
#   4. benchmark it at 8K, 32K and 128K: prefill tok/s, decode ms/token, model FLOP utilisation against PEAK_TFLOPS
#      (default 989.4: H100/H200 SXM dense bf16 = fp16 tensor-core peak; the runtime computes this bf16 model in bf16), peak
#      GPU memory (nvidia-smi, all of the device's memory in use, PyTorch's cache included): one table.
#      Contexts run in order; one predicted (from the earlier ones) not to fit the time left is skipped and the table
#      says so; a prefill still running when the time is up is stopped and its partial rate reported.
#   5. multi-device (issue 18, sequence-sharded KV): step 2 also runs DeviceReferenceTest's sharded case over DEVICES
#      (default: every GPU, cuda:0,...,cuda:N-1; on a one-GPU host cuda:0,cuda:0, two shards of one GPU) with a pinned
#      host tier, against the float64 reference; with MULTI_S > 0 (and two GPUs or more) the 8B model is then
#      benchmarked with its KV over DEVICES at MULTI_CONTEXTS (default 1048576: a 1M-token prefill and decode steps)
#      within MULTI_S more seconds (a 1M prefill is ~3e17 FLOPs: ~10 min at half an H100's peak, so MULTI_S=1500).
#
# Needs: java 17, nvidia-smi, and the Maven repository to hold (or reach) ai.djl.pytorch:pytorch-native-cu124:2.5.1
# (2.4 GB): MVN_OFFLINE=-o by default, set MVN_OFFLINE= to let Maven download it.
# Variables: TOTAL_S=470 CONTEXTS=8192,32768,131072 DECODE=16 MODEL_DIR=/tmp/ultralong-8b-synthetic PEAK_TFLOPS=989.4
#            DEVICE=cuda OUT=<folder for the logs and JSON> (default model-runtime/target/gpu-check)
#            DEVICES=<KV devices, see 5.> MULTI_S=0 MULTI_CONTEXTS=1048576 HOST_KV_BYTES=0
set -euo pipefail
cd "$(dirname "$0")/.."

START=$SECONDS
TOTAL_S=${TOTAL_S:-470}
CONTEXTS=${CONTEXTS:-8192,32768,131072}
DECODE=${DECODE:-16}
MODEL_DIR=${MODEL_DIR:-/tmp/ultralong-8b-synthetic}
PEAK_TFLOPS=${PEAK_TFLOPS:-989.4}
DEVICE=${DEVICE:-cuda}
MVN_OFFLINE=${MVN_OFFLINE--o}
RESULTS=${OUT:-model-runtime/target/gpu-check}
MULTI_S=${MULTI_S:-0}
MULTI_CONTEXTS=${MULTI_CONTEXTS:-1048576}
HOST_KV_BYTES=${HOST_KV_BYTES:-0}
mkdir -p "$RESULTS"
# DJL's tokenizer would fetch a CUDA build of itself on a GPU host; its CPU build is in the jar
export RUST_FLAVOR=cpu

step() { echo "== [$((SECONDS - START)) s] $*"; }
left() { echo $((TOTAL_S - (SECONDS - START))); }
need() { command -v "$1" >/dev/null || { echo "gpu-check: '$1' not found: $2" >&2; exit 2; }; }

# 1. environment (~5 s)
step "environment"
need nvidia-smi "this script needs an NVIDIA GPU host"
need java "install a Java 17 JDK"
nvidia-smi
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
java -version 2>&1
echo "cores $(nproc), memory $(free -g | awk '/Mem:/ {print $2}') GiB, load average $(cut -d' ' -f1-3 /proc/loadavg)"
df -h "$(dirname "$MODEL_DIR")" | tail -1
GPUS=$(nvidia-smi -L | grep -c '^GPU' || true)
if [ -z "${DEVICES:-}" ]; then
    if [ "$GPUS" -ge 2 ]; then
        DEVICES=$(seq -s, -f 'cuda:%g' 0 $((GPUS - 1)))
    else
        DEVICES="cuda:0,cuda:0"
    fi
fi
echo "GPUs: $GPUS; sharded KV over $DEVICES"
CU_JAR=$(ls ~/.m2/repository/ai/djl/pytorch/pytorch-native-cu124/2.5.1/*.jar 2>/dev/null | head -1 || true)
if [ -n "$MVN_OFFLINE" ] && [ -z "$CU_JAR" ]; then
    echo "gpu-check: pytorch-native-cu124 2.5.1 is not in ~/.m2 and Maven runs offline; run with MVN_OFFLINE= once" >&2
    exit 2
fi

# 2. build with CUDA libtorch, reference tests on the GPU (budget ~150 s: compile ~60 s, tests ~60 s)
step "build -Pcuda and reference tests on $DEVICE"
# a failing reference test does not stop the check: the benchmark still says how fast; the exit status says it failed
TESTS=0
timeout 240 ./mvnw -B $MVN_OFFLINE -q -Pcuda -pl model-runtime test \
    -Dtest='DeviceReferenceTest,LlamaRuntimeReferenceTest' -Dul.test.device="$DEVICE" -Dul.test.devices="$DEVICES" \
    -Dsurefire.failIfNoSpecifiedTests=false 2>&1 | tee "$RESULTS/reference-tests.log" || TESTS=$?
grep -h -E "worst relative error" "$RESULTS/reference-tests.log" || true
grep -h "Tests run" model-runtime/target/surefire-reports/*ReferenceTest.txt || true
if [ ! -f model-runtime/target/test-classes/io/ultralong/runtime/bench/ThroughputBenchmark.class ]; then
    echo "gpu-check: the build failed (exit $TESTS)" >&2
    exit 1
fi
./mvnw -B $MVN_OFFLINE -q -Pcuda -pl model-runtime dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench.classpath
CP="model-runtime/target/test-classes:model-runtime/target/classes:$(cat model-runtime/target/bench.classpath)"

# 3 + 4. model (written once: ~30-90 s for 16 GB on 16 cores, then reused) and benchmark, in one JVM, within the
# time left; the benchmark keeps ~20 s for its table and the JVM's exit
BUDGET=$(( $(left) - 20 ))
step "UltraLong-8B-shaped model into $MODEL_DIR and benchmark at $CONTEXTS ($DECODE decode steps), ${BUDGET} s left"
if [ "$BUDGET" -lt 120 ]; then
    echo "gpu-check: only ${BUDGET} s left for loading 16 GB and measuring; stopping here" >&2
    exit 3
fi
timeout $((BUDGET + 15)) java -Xmx16g -Dai.djl.offline=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" \
    io.ultralong.runtime.bench.ThroughputBenchmark --model "$MODEL_DIR" --write ultralong-8b --device "$DEVICE" \
    --contexts "$CONTEXTS" --decode "$DECODE" --budget-s "$BUDGET" --peak-tflops "$PEAK_TFLOPS" \
    --json "$RESULTS/gpu-benchmark.json" 2>&1 | tee "$RESULTS/gpu-benchmark.log"

# 5. the 8B model's KV over several GPUs: a 1M-token prefill and decode steps (only with MULTI_S > 0 and 2+ GPUs)
if [ "$MULTI_S" -gt 0 ] && [ "$GPUS" -ge 2 ]; then
    step "sharded benchmark over $DEVICES at $MULTI_CONTEXTS ($DECODE decode steps), ${MULTI_S} s"
    timeout $((MULTI_S + 15)) java -Xmx16g -Dai.djl.offline=true -Dorg.slf4j.simpleLogger.defaultLogLevel=info -cp "$CP" \
        io.ultralong.runtime.bench.ThroughputBenchmark --model "$MODEL_DIR" --device "${DEVICES%%,*}" --devices "$DEVICES" \
        --host-kv-bytes "$HOST_KV_BYTES" --contexts "$MULTI_CONTEXTS" --decode "$DECODE" --budget-s "$MULTI_S" \
        --peak-tflops "$PEAK_TFLOPS" --json "$RESULTS/gpu-benchmark-sharded.json" 2>&1 \
        | tee "$RESULTS/gpu-benchmark-sharded.log" || echo "gpu-check: the sharded benchmark failed or ran out of time" >&2
elif [ "$MULTI_S" -gt 0 ]; then
    echo "gpu-check: MULTI_S set but only $GPUS GPU(s): the sharded benchmark needs two or more" >&2
fi

step "done"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
if [ "$TESTS" != 0 ]; then
    echo "gpu-check: the reference tests on $DEVICE FAILED (exit $TESTS): see $RESULTS/reference-tests.log" >&2
    exit 1
fi

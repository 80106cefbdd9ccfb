// llama.cpp's side of scripts/bench-llamacpp.sh, through node-llama-cpp (installed by that script into
// $LLAMACPP_DIR, default .llamacpp/). Three commands:
//   check --gguf F --check JSON [--tolerance T]   llama.cpp's logits at the positions the runtime recorded (GgufExport)
//   bench --gguf F --vocab V --contexts 2048,8192 --decode N --threads T --json OUT   prefill and decode tokens/s
//   table RUNTIME.json LLAMACPP.json              the side-by-side table
// Token ids are fed directly (no text, no tokenizer in the loop), f32 KV cache, CPU only, batch 512 (the runtime's
// prefill chunk).
import fs from "node:fs";
import path from "node:path";
import {pathToFileURL} from "node:url";

const [command, ...rest] = process.argv.slice(2);
const args = {};
const positional = [];
for (let i = 0; i < rest.length; i++) {
    if (rest[i].startsWith("--")) {
        args[rest[i].slice(2)] = rest[i + 1];
        i++;
    } else {
        positional.push(rest[i]);
    }
}

async function loadLlamaCpp() {
    const dir = path.resolve(process.env.LLAMACPP_DIR ?? ".llamacpp");
    const entry = path.join(dir, "node_modules", "node-llama-cpp", "dist", "index.js");
    if (!fs.existsSync(entry)) {
        throw new Error(`node-llama-cpp is not installed in ${dir} (scripts/bench-llamacpp.sh installs it)`);
    }
    return import(pathToFileURL(entry).href);
}

async function openModel(threads, contextSize) {
    const {getLlama, LlamaLogLevel} = await loadLlamaCpp();
    // build "never": the prebuilt CPU binary from npm or nothing (no download, no compiler)
    const llama = await getLlama({gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.warn});
    const model = await llama.loadModel({modelPath: path.resolve(args.gguf), gpuLayers: 0});
    const context = await model.createContext({
        contextSize,
        batchSize: 512,
        sequences: 1,
        threads: {ideal: threads, min: threads},
        flashAttention: args["flash-attention"] === "true",
        experimentalKvCacheKeyType: "F32",
        experimentalKvCacheValueType: "F32",
    });
    return {llama, model, context, sequence: context.getSequence()};
}

function tokensFor(count, vocab, seed) {
    // any fixed ids do: the cost does not depend on them (xorshift, not the runtime's generator)
    let x = BigInt(seed) * 0x9E3779B97F4A7C15n + 1n;
    const mask = (1n << 64n) - 1n;
    const ids = new Array(count);
    for (let i = 0; i < count; i++) {
        x ^= (x << 13n) & mask;
        x ^= x >> 7n;
        x ^= (x << 17n) & mask;
        ids[i] = Number(x % BigInt(vocab));
    }
    return ids;
}

function compare(expected, actual) {
    let maxDiff = 0, maxRef = 0, best = 0, bestExpected = 0;
    for (let id = 0; id < expected.length; id++) {
        const v = actual.get(id);
        maxDiff = Math.max(maxDiff, Math.abs(v - expected[id]));
        maxRef = Math.max(maxRef, Math.abs(expected[id]));
        if (v > actual.get(best)) best = id;
        if (expected[id] > expected[bestExpected]) bestExpected = id;
    }
    return {error: maxDiff / maxRef, sameArgmax: best === bestExpected};
}

// The runtime's logits (GgufExport --check) against llama.cpp's at the same positions. Must match: those computed with
// YaRN beta_fast/beta_slow 32/1, the values llama.cpp's llama architecture always uses. Reported only: those with the
// model's own betas (UltraLong: 4/1), which llama.cpp does not apply.
async function check() {
    const data = JSON.parse(fs.readFileSync(args.check, "utf8"));
    // measured here: 1.2e-5 at position 15, 8.3e-5 at 200, 8.3e-4 at 999, growing with the position (llama.cpp
    // computes RoPE angles in float32); a wrong RoPE or YaRN parameter gives 1e-1 and more
    const tolerance = Number(args.tolerance ?? "5e-3");
    const positions = Object.keys(data.logits).map(Number).sort((a, b) => a - b);
    const {model, context, sequence} = await openModel(Number(args.threads ?? "2"), data.tokens.length + 16);
    const input = data.tokens.map((token, i) => positions.includes(i) ? [token, {generateNext: {logits: true}}] : token);
    const output = await sequence.controlledEvaluate(input);
    let worst = 0;
    let allArgmax = true;
    for (const p of positions) {
        const actual = output[p]?.next?.logits;
        const expected = data.logitsWithLlamaCppBetas[String(p)];
        if (actual == null || actual.size !== expected.length) {
            throw new Error(`llama.cpp returned ${actual?.size} logits at position ${p}, expected ${expected.length}`);
        }
        const same = compare(expected, actual);
        const own = compare(data.logits[String(p)], actual);
        worst = Math.max(worst, same.error);
        allArgmax &&= same.sameArgmax;
        console.log(`position ${p}: relative error ${same.error.toExponential(2)} (argmax ${same.sameArgmax ? "equal" : "differs"}); ` +
            `against the model's own YaRN betas ${own.error.toExponential(2)}`);
    }
    await context.dispose();
    await model.dispose();
    if (!(worst <= tolerance) || !allArgmax) {
        console.error(`llama.cpp and the runtime disagree: worst relative error ${worst} (tolerance ${tolerance}), argmax equal: ${allArgmax}`);
        process.exit(1);
    }
    console.log(`llama.cpp matches the runtime (YaRN betas 32/1): worst relative error ${worst.toExponential(2)} <= ${tolerance}`);
}

async function bench() {
    const contexts = args.contexts.split(",").map(Number);
    const decode = Number(args.decode ?? "32");
    const threads = Number(args.threads ?? "2");
    const results = [];
    for (const n of contexts) {
        // a fresh context per length: its KV holds n + decode tokens, like the runtime's cache
        const {model, context, sequence} = await openModel(threads, n + decode + 8);
        const tokens = tokensFor(n + decode, Number(args.vocab), n);
        // warm-up on this context (page-in of the weights, thread pool), then cleared
        await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(0, 64));
        await sequence.clearHistory();
        const t0 = process.hrtime.bigint();
        const cpu0 = cpuMicros();
        await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(0, n));
        const prefillSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const prefillCpuMsPerToken = (cpuMicros() - cpu0) / 1000 / n;
        // decode: one token per step, each step computing the next-token logits and choosing one, as generation does
        const t1 = process.hrtime.bigint();
        const cpu1 = cpuMicros();
        for (let i = 0; i < decode; i++) {
            await sequence.controlledEvaluate([[tokens[n + i], {generateNext: {token: true}}]]);
        }
        const decodeSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
        const decodeCpuMsPerToken = (cpuMicros() - cpu1) / 1000 / decode;
        results.push({context: n, prefilled: n, prefillSeconds, prefillPerSecond: n / prefillSeconds,
            decodePerSecond: decode / decodeSeconds, decodeMsPerToken: 1000 * decodeSeconds / decode,
            prefillCpuMsPerToken, decodeCpuMsPerToken});
        console.log(`llama.cpp ${n}: prefill ${(n / prefillSeconds).toFixed(1)} tok/s, decode ${(decode / decodeSeconds).toFixed(2)} tok/s`);
        await context.dispose();
        await model.dispose();
    }
    const out = {engine: "llama.cpp (node-llama-cpp 3.22.1, prebuilt CPU)", threads, decodeTokens: decode,
        flashAttention: args["flash-attention"] === "true", kvCache: "f32", batch: 512, results};
    fs.writeFileSync(args.json, JSON.stringify(out, null, 2));
}

// CPU time of the whole process (all threads, user and system), in microseconds: the work done, whatever the load
function cpuMicros() {
    const {user, system} = process.cpuUsage();
    return user + system;
}

function table() {
    const [runtimeFile, llamaFile] = positional;
    const runtime = JSON.parse(fs.readFileSync(runtimeFile, "utf8"));
    const llama = JSON.parse(fs.readFileSync(llamaFile, "utf8"));
    const byContext = new Map(llama.results.map(r => [r.context, r]));
    const cell = (v, digits) => v == null || Number.isNaN(v) ? "-" : v.toFixed(digits);
    // One row per context: for each measure the runtime's value, llama.cpp's, and their ratio (above 1: the runtime
    // is better), each right-aligned under its header.
    const compare = (header, measures, notes) => {
        console.log(header);
        for (const r of runtime.results) {
            const l = byContext.get(r.context) ?? {};
            const cells = [String(r.context).padStart(7)];
            for (const m of measures) {
                cells.push(cell(r[m.key], m.digits).padStart(m.widths[0]), cell(l[m.key], m.digits).padStart(m.widths[1]),
                    cell(m.higherIsBetter ? r[m.key] / l[m.key] : l[m.key] / r[m.key], 2).padStart(6));
            }
            const line = cells.join(" ");
            console.log(notes && r.note ? `${line}  ${r.note}` : line);
        }
    };
    compare("context  runtime prefill/s  llama.cpp prefill/s  ratio  runtime decode/s  llama.cpp decode/s  ratio", [
        {key: "prefillPerSecond", digits: 1, widths: [18, 20], higherIsBetter: true},
        {key: "decodePerSecond", digits: 2, widths: [17, 19], higherIsBetter: true},
    ], true);
    // the same comparison in CPU time per token (lower is better): robust to other load on the machine, and with one
    // thread each (THREADS=1) free of spin-waiting threads too
    console.log("");
    compare("context  CPU ms/token: runtime prefill  llama.cpp prefill  ratio  runtime decode  llama.cpp decode  ratio", [
        {key: "prefillCpuMsPerToken", digits: 2, widths: [29, 18], higherIsBetter: false},
        {key: "decodeCpuMsPerToken", digits: 2, widths: [15, 17], higherIsBetter: false},
    ], false);
    console.log(`ratio = runtime / llama.cpp; llama.cpp: ${llama.engine}, ${llama.threads} threads, KV ${llama.kvCache}, ` +
        `batch ${llama.batch}, flash attention ${llama.flashAttention}; ${runtime.decodeTokens} decode steps per context; ` +
        "CPU ratios = llama.cpp CPU time / runtime CPU time (above 1: the runtime does the same work in less CPU time)");
}

const commands = {check, bench, table};
if (!commands[command]) {
    console.error("usage: llamacpp-bench.mjs check|bench|table ...");
    process.exit(2);
}
await commands[command]();

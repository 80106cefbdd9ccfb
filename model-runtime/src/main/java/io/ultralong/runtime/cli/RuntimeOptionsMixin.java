package io.ultralong.runtime.cli;

import io.ultralong.runtime.engine.KvPlacement;
import io.ultralong.runtime.engine.RuntimeOptions;
import picocli.CommandLine.Option;

/** The engine options shared by the commands that run the model. */
final class RuntimeOptionsMixin {

    @Option(names = "--device", defaultValue = "auto", description = "cpu, gpu, cuda:N or auto (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--chunk", description = "prefill chunk in tokens (default: 512)")
    Integer prefillChunkTokens;

    @Option(names = "--kv-block", description = "KV cache block in tokens (default: 256)")
    Integer kvBlockTokens;

    @Option(names = "--attention-block", description = "KV width of one online-softmax attention step (default: 1024)")
    Integer attentionBlockTokens;

    @Option(names = "--kv-on-host", description = "keep the KV cache in host memory, copied to the GPU step by step")
    boolean kvOnHost;

    @Option(names = "--devices", paramLabel = "LIST",
            description = "KV spread over these devices in order, e.g. cuda:0,cuda:1 (the first computes; overrides --device); "
                    + "the same device may be listed again as another shard")
    String devices;

    @Option(names = "--device-kv-bytes", description = "KV bytes each of --devices holds (default: no limit on the CPU, "
            + "the memory left after the weights and a 2 GiB reserve on CUDA)")
    Long deviceKvBytes;

    @Option(names = "--host-kv-bytes", description = "host memory for the oldest KV blocks the devices cannot hold (default: 0, none)")
    Long hostKvBytes;

    @Option(names = "--blockwise-attention",
            description = "attention as a blockwise online softmax in DJL ops instead of PyTorch's fused kernels")
    boolean blockwiseAttention;

    @Option(names = "--precision", defaultValue = "auto",
            description = "compute dtype: auto (bf16 on CUDA for a bf16 checkpoint, else f16; f32 on CPU), f32, f16 or bf16")
    String precision;

    @Option(names = "--kv-precision", defaultValue = "auto",
            description = "KV cache storage: auto (the compute dtype), int8 or fp8 (quantised, per-block scales)")
    String kvPrecision;

    RuntimeOptions toOptions() {
        RuntimeOptions defaults = RuntimeOptions.defaults();
        return new RuntimeOptions(device,
                prefillChunkTokens == null ? defaults.prefillChunkTokens() : prefillChunkTokens,
                kvBlockTokens == null ? defaults.kvBlockTokens() : kvBlockTokens,
                attentionBlockTokens == null ? defaults.attentionBlockTokens() : attentionBlockTokens).withKvOnHost(kvOnHost)
                .withFusedAttention(!blockwiseAttention)
                .withPlacement(KvPlacement.SINGLE.withDevices(KvPlacement.parseDevices(devices))
                        .withDeviceKvBytes(deviceKvBytes == null ? 0 : deviceKvBytes)
                        .withHostKvBytes(hostKvBytes == null ? 0 : hostKvBytes))
                .withPrecision(precision).withKvPrecision(kvPrecision);
    }
}

package io.ultralong.runtime.reference;

import io.ultralong.runtime.model.LlamaConfig;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.SafetensorsCheckpoint;

/** Plain-Java float64 Llama forward pass, independent of DJL, straight from the HF modeling_llama maths. */
public final class ReferenceLlama {

    private final LlamaConfig c;
    private final double[][] embed;       // [vocab][hidden]
    private final double[][] lmHead;      // [vocab][hidden]
    private final double[] finalNorm;
    private final Layer[] layers;
    private final double[] invFreq;
    private final double attentionFactor;

    private record Layer(double[] inputNorm, double[][] q, double[][] k, double[][] v, double[][] o,
            double[] postNorm, double[][] gate, double[][] up, double[][] down) { }

    private ReferenceLlama(LlamaConfig c, double[][] embed, double[][] lmHead, double[] finalNorm, Layer[] layers) {
        this.c = c;
        this.embed = embed;
        this.lmHead = lmHead;
        this.finalNorm = finalNorm;
        this.layers = layers;
        this.invFreq = c.ropeScaling().inverseFrequencies(c.headDim(), c.ropeTheta());
        this.attentionFactor = c.ropeScaling().attentionFactor();
    }

    public static ReferenceLlama load(ModelDirectory model) {
        LlamaConfig c = model.config();
        try (SafetensorsCheckpoint w = model.openWeights()) {
            Layer[] layers = new Layer[c.numHiddenLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = "model.layers." + i + ".";
                layers[i] = new Layer(vec(w, p + "input_layernorm.weight"),
                        mat(w, p + "self_attn.q_proj.weight"), mat(w, p + "self_attn.k_proj.weight"),
                        mat(w, p + "self_attn.v_proj.weight"), mat(w, p + "self_attn.o_proj.weight"),
                        vec(w, p + "post_attention_layernorm.weight"), mat(w, p + "mlp.gate_proj.weight"),
                        mat(w, p + "mlp.up_proj.weight"), mat(w, p + "mlp.down_proj.weight"));
            }
            double[][] embed = mat(w, "model.embed_tokens.weight");
            // LlamaForCausalLM: lm_head shares embed_tokens when tie_word_embeddings
            double[][] head = c.tieWordEmbeddings() ? embed : mat(w, "lm_head.weight");
            return new ReferenceLlama(c, embed, head, vec(w, "model.norm.weight"), layers);
        }
    }

    private static double[] vec(SafetensorsCheckpoint w, String name) {
        float[] f = w.readAsFloatArray(name);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static double[][] mat(SafetensorsCheckpoint w, String name) {
        long[] shape = w.info(name).shape();
        double[] flat = vec(w, name);
        int rows = (int) shape[0];
        int cols = (int) shape[1];
        double[][] m = new double[rows][cols];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(flat, r * cols, m[r], 0, cols);
        }
        return m;
    }

    /** Logits [tokens.length][vocab] for positions 0..n-1. */
    public double[][] logits(int[] tokens) {
        int n = tokens.length;
        int hd = c.headDim();
        int heads = c.numAttentionHeads();
        int kvHeads = c.numKeyValueHeads();
        int groups = heads / kvHeads;
        // LlamaModel.embed_tokens
        double[][] hidden = new double[n][];
        for (int t = 0; t < n; t++) {
            hidden[t] = embed[tokens[t]].clone();
        }
        // LlamaRotaryEmbedding.forward: cos/sin = cos/sin(pos * inv_freq) * attention_scaling, emb = cat(freqs, freqs)
        double[][] cos = new double[n][hd];
        double[][] sin = new double[n][hd];
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < hd / 2; j++) {
                double angle = t * invFreq[j];
                cos[t][j] = cos[t][j + hd / 2] = Math.cos(angle) * attentionFactor;
                sin[t][j] = sin[t][j + hd / 2] = Math.sin(angle) * attentionFactor;
            }
        }
        double scale = 1.0 / Math.sqrt(hd);
        for (Layer l : layers) {
            // LlamaDecoderLayer: input_layernorm (LlamaRMSNorm)
            double[][] x = new double[n][];
            for (int t = 0; t < n; t++) {
                x[t] = rmsNorm(hidden[t], l.inputNorm());
            }
            // LlamaAttention: q_proj, k_proj, v_proj
            double[][] q = new double[n][];
            double[][] k = new double[n][];
            double[][] v = new double[n][];
            for (int t = 0; t < n; t++) {
                q[t] = apply(l.q(), x[t]);
                k[t] = apply(l.k(), x[t]);
                v[t] = apply(l.v(), x[t]);
                // apply_rotary_pos_emb: q*cos + rotate_half(q)*sin, per head
                rope(q[t], heads, hd, cos[t], sin[t]);
                rope(k[t], kvHeads, hd, cos[t], sin[t]);
            }
            // eager_attention_forward: repeat_kv (GQA), softmax(q k^T * scaling + causal mask) v
            double[][] attn = new double[n][heads * hd];
            for (int h = 0; h < heads; h++) {
                int kvh = h / groups;
                for (int t = 0; t < n; t++) {
                    double[] scores = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s <= t; s++) {
                        double dot = 0;
                        for (int d = 0; d < hd; d++) {
                            dot += q[t][h * hd + d] * k[s][kvh * hd + d];
                        }
                        scores[s] = dot * scale;
                        max = Math.max(max, scores[s]);
                    }
                    double sum = 0;
                    for (int s = 0; s <= t; s++) {
                        scores[s] = Math.exp(scores[s] - max);
                        sum += scores[s];
                    }
                    for (int s = 0; s <= t; s++) {
                        double p = scores[s] / sum;
                        for (int d = 0; d < hd; d++) {
                            attn[t][h * hd + d] += p * v[s][kvh * hd + d];
                        }
                    }
                }
            }
            for (int t = 0; t < n; t++) {
                // o_proj, then the residual add of LlamaDecoderLayer
                double[] o = apply(l.o(), attn[t]);
                for (int i = 0; i < o.length; i++) {
                    hidden[t][i] += o[i];
                }
                // post_attention_layernorm, LlamaMLP: down_proj(act_fn(gate_proj(x)) * up_proj(x)), residual
                double[] y = rmsNorm(hidden[t], l.postNorm());
                double[] g = apply(l.gate(), y);
                double[] u = apply(l.up(), y);
                for (int i = 0; i < g.length; i++) {
                    g[i] = silu(g[i]) * u[i];
                }
                double[] d = apply(l.down(), g);
                for (int i = 0; i < d.length; i++) {
                    hidden[t][i] += d[i];
                }
            }
        }
        // LlamaModel.norm, then LlamaForCausalLM.lm_head
        double[][] logits = new double[n][];
        for (int t = 0; t < n; t++) {
            logits[t] = apply(lmHead, rmsNorm(hidden[t], finalNorm));
        }
        return logits;
    }

    /** LlamaRMSNorm: weight * x / sqrt(mean(x^2) + eps). */
    double[] rmsNorm(double[] x, double[] weight) {
        double ss = 0;
        for (double xi : x) {
            ss += xi * xi;
        }
        double inv = 1.0 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = weight[i] * x[i] * inv;
        }
        return out;
    }

    /** nn.Linear without bias: y = W x with W as [out][in]. */
    static double[] apply(double[][] w, double[] x) {
        double[] y = new double[w.length];
        for (int r = 0; r < w.length; r++) {
            double acc = 0;
            double[] row = w[r];
            for (int i = 0; i < row.length; i++) {
                acc += row[i] * x[i];
            }
            y[r] = acc;
        }
        return y;
    }

    /** apply_rotary_pos_emb with rotate_half: pairs dim j with j + headDim/2. */
    static void rope(double[] x, int numHeads, int hd, double[] cos, double[] sin) {
        int half = hd / 2;
        for (int h = 0; h < numHeads; h++) {
            int b = h * hd;
            for (int j = 0; j < half; j++) {
                double x1 = x[b + j];
                double x2 = x[b + j + half];
                // rotate_half(x) = cat(-x2, x1)
                x[b + j] = x1 * cos[j] - x2 * sin[j];
                x[b + j + half] = x2 * cos[j + half] + x1 * sin[j + half];
            }
        }
    }

    static double silu(double x) {
        return x / (1 + Math.exp(-x));
    }
}

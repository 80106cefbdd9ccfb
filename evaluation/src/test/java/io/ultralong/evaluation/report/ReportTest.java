package io.ultralong.evaluation.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import io.ultralong.evaluation.client.PlatformClient.Usage;
import io.ultralong.evaluation.run.AccuracyGrid;
import io.ultralong.evaluation.run.EvaluationResults;
import io.ultralong.evaluation.run.ProbeResult;
import io.ultralong.evaluation.run.TrialResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {

    private static ProbeResult probe(double depth, boolean correct, long context, long cached) {
        return new ProbeResult("What is the pass key of the x vault?", List.of("12345"), correct ? "12345" : "I <don't> know",
                correct, correct ? 1 : 0, depth, depth, new Usage(context, cached, context - cached, 3), 5, null);
    }

    /** Two lengths x two depths; the 16K run missed the needle at 100%. */
    private static EvaluationResults results() {
        TrialResult short8k = new TrialResult("passkey", "s-8k", 8192, 8190, 300, 8190L, 10,
                List.of(probe(0.0, true, 8200, 0), probe(1.0, true, 8200, 8190)));
        TrialResult long16k = new TrialResult("passkey", "s-16k", 16384, 16380, 600, 16380L, 20,
                List.of(probe(0.0, true, 16390, 0), probe(1.0, false, 16390, 16380)));
        return new EvaluationResults("passkey", "http://gpu:8080", "ultralong-8b", false, "2026-01-01T00:00:00Z",
                "2026-01-01T00:01:00Z", 42, List.of(long16k, short8k));
    }

    @Test
    void terminalTableHasARowPerDepthAColumnPerLengthAndTheKvReuse() {
        EvaluationResults results = results();
        String table = TerminalTable.render("Passkey retrieval", results.depthGrid(), results.kvReuseByLength());

        assertThat(table).isEqualTo("""
                Passkey retrieval (accuracy, %)
                depth \\ length     8K    16K
                ----------------------------
                0%              100.0  100.0
                100%            100.0    0.0
                ----------------------------
                mean            100.0   50.0
                KV reuse         49.9   50.0
                """);
    }

    @Test
    void jsonPngAndHtmlAreWrittenAndAgree(@TempDir Path out) throws Exception {
        EvaluationResults results = results();
        AccuracyGrid grid = results.depthGrid();
        ReportWriter.write(out, "Passkey retrieval", results, grid);

        JsonNode json = ReportWriter.json().readTree(out.resolve(ReportWriter.JSON).toFile());
        assertThat(json.path("accuracy").asDouble()).isEqualTo(0.75);
        assertThat(json.path("kvReuse").asDouble()).isEqualTo((8190.0 + 16380) / (2 * 8200 + 2 * 16390));
        assertThat(json.path("trials")).hasSize(2);
        assertThat(json.path("trials").get(0).path("probes").get(1).path("usage").path("cachedTokens").asLong()).isEqualTo(16380);

        byte[] png = Files.readAllBytes(out.resolve(ReportWriter.PNG));
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(image.getWidth()).isEqualTo(640);
        assertThat(image.getHeight()).isEqualTo(420);

        String html = Files.readString(out.resolve(ReportWriter.HTML));
        assertThat(html).contains("data:image/png;base64," + Base64.getEncoder().encodeToString(png))
                .contains("<th>8K</th><th>16K</th>")
                .contains("<td class=\"l\">100%</td><td>100.0</td><td>0.0</td>")
                .contains("I &lt;don&#39;t&gt; know".replace("&#39;", "'"))
                .doesNotContain("<don't>");
    }

    @Test
    void heatmapColoursTheMissRedAndTheHitsGreen() throws Exception {
        AccuracyGrid grid = new AccuracyGrid("depth", List.of("0%", "100%"), List.of(8192L, 16384L),
                new double[][] {{1, 1}, {1, 0}});
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(HeatmapChart.png("t", grid)));

        long green = 0;
        long red = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xFFFFFF;
                green += rgb == 0x1A9641 ? 1 : 0;
                red += rgb == 0xD7191C ? 1 : 0;
            }
        }
        // Three green cells and one red one (the colour legend adds a little of each).
        assertThat(green).isGreaterThan(2 * red);
        assertThat(red).isGreaterThan(1000);
    }
}

package io.ultralong.runtime.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ingest and workers without a model each write the demo model: they must tokenize alike, so the files must be equal. */
class DemoModelTest {

    @Test
    void isWrittenIdenticallyEveryTimeAndKeptOnceThere(@TempDir Path one, @TempDir Path two) throws Exception {
        Path first = DemoModel.ensure(one.resolve("demo"));
        Path second = DemoModel.ensure(two.resolve("demo"));

        for (String file : new String[] {"config.json", "tokenizer.json", "model.safetensors"}) {
            assertThat(Files.readAllBytes(first.resolve(file))).as(file).isEqualTo(Files.readAllBytes(second.resolve(file)));
        }
        long written = Files.getLastModifiedTime(first.resolve("config.json")).toMillis();
        assertThat(DemoModel.ensure(first)).isEqualTo(first);
        assertThat(Files.getLastModifiedTime(first.resolve("config.json")).toMillis()).isEqualTo(written);
    }
}

package io.ultralong.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The licence shown at load, read from the model card as the hub publishes it. */
class ModelLicenceTest {

    @TempDir
    Path dir;

    @Test
    void ultraLongsModelCardSaysCcByNc() throws Exception {
        Path model = SyntheticModelWriter.write(dir, SyntheticModelSpec.tiny());
        Files.writeString(model.resolve("README.md"), """
                ---
                library_name: transformers
                license: cc-by-nc-4.0
                language:
                - en
                pipeline_tag: text-generation
                ---
                # Model Information
                license: not-this-one
                """);
        ModelLicence licence = ModelDirectory.resolve(model).licence().orElseThrow();
        assertThat(licence.licence()).isEqualTo("cc-by-nc-4.0");
        assertThat(licence.describe()).isEqualTo("cc-by-nc-4.0");
        assertThat(licence.source()).isEqualTo(model.resolve("README.md"));
    }

    @Test
    void otherLicenceNamesItAndItsLink() throws Exception {
        Files.writeString(dir.resolve("README.md"), "---\r\nlicense: other\r\nlicense_name: \"llama3.2\"\r\n"
                + "license_link: LICENSE.txt\r\n---\r\n");
        assertThat(ModelLicence.read(dir).orElseThrow().describe()).isEqualTo("other (llama3.2, LICENSE.txt)");
    }

    @Test
    void configJsonIsReadWhenTheCardSaysNothing() throws Exception {
        Files.writeString(dir.resolve("README.md"), "# no front matter\nlicense: mit\n");
        Files.writeString(dir.resolve("config.json"), "{\"license\": \"apache-2.0\"}");
        assertThat(ModelLicence.read(dir).orElseThrow().licence()).isEqualTo("apache-2.0");
        assertThat(ModelLicence.read(dir).orElseThrow().source()).isEqualTo(dir.resolve("config.json"));
    }

    @Test
    void noLicenceAnywhereIsEmpty() {
        Path model = SyntheticModelWriter.write(dir, SyntheticModelSpec.tiny());
        assertThat(ModelLicence.read(model)).isEmpty();
    }
}

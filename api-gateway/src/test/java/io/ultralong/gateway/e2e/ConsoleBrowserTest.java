package io.ultralong.gateway.e2e;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The operator console in a real headless Chromium, against the gateway over the real pipeline (ingest
 * and a worker on a generated tiny model): log in, create a session, append, ask and watch the tokens
 * stream, create a watch and see its answer arrive, the workers page, the 404 and 401 paths, and delete.
 * Skipped (not failed) where {@code chromium} and {@code chromedriver} are not installed.
 *
 * <p>Screenshots of the main pages go to {@code target/console-screenshots}, or to the directory given
 * by {@code -Dconsole.screenshots=...} (the README's images come from {@code -Dconsole.screenshots=../docs/images}).
 */
@QuarkusTest
@WithTestResource(RealPipelineTestResource.class)
class ConsoleBrowserTest {

    static final Duration WAIT = Duration.ofSeconds(60);
    static WebDriver browser;

    @TestHTTPResource("/console")
    URL console;

    @BeforeAll
    static void startBrowser() {
        Optional<Path> chromium = onPath("chromium").or(() -> onPath("chromium-browser"));
        Optional<Path> driver = onPath("chromedriver");
        Assumptions.assumeTrue(chromium.isPresent() && driver.isPresent(),
                "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)");
        ChromeOptions options = new ChromeOptions().setBinary(chromium.get().toFile())
                .addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                        "--window-size=1280,860");
        // The driver from PATH, named explicitly: Selenium Manager would otherwise try to download one.
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.get().toFile()).build();
        browser = new ChromeDriver(service, options);
        browser.manage().window().setSize(new Dimension(1280, 860));
    }

    @AfterAll
    static void stopBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    @Test
    void consoleDrivesASessionFromLoginToDelete() throws IOException {
        // 401: a wrong key is refused with the API's message, and nothing but the login form shows.
        browser.get(console.toString());
        awaitVisible("login-form");
        assertThat(browser.findElement(By.id("main")).isDisplayed()).isFalse();
        login("not-a-key");
        await().atMost(WAIT).until(() -> text("login-error").contains("not valid"));
        login("test-key-acme");
        awaitVisible("sessions");

        // Create a session from the sessions page: the console moves to its page.
        browser.findElement(By.id("new-session-id")).sendKeys("console-log");
        browser.findElement(By.id("create-session")).click();
        await().atMost(WAIT).until(() -> browser.getCurrentUrl().endsWith("/console/sessions/console-log"));

        // Append two records (text/plain, one per line): the live tail shows them with their seqs.
        awaitVisible("append-text");
        browser.findElement(By.id("append-text")).sendKeys("worker-2 crashed: out of memory\nrestarted worker-2");
        browser.findElement(By.id("append")).click();
        await().atMost(WAIT).until(() -> browser.findElements(By.cssSelector("#records li")).size() == 2);
        assertThat(browser.findElements(By.cssSelector("#records li .text")).stream().map(WebElement::getText).toList())
                .containsExactly("worker-2 crashed: out of memory", "restarted worker-2");

        // Ask: the answer streams in token events, and the console's usage figures are the worker's.
        browser.findElement(By.id("question")).sendKeys("What failed?");
        WebElement maxTokens = browser.findElement(By.id("max-tokens"));
        maxTokens.clear();
        maxTokens.sendKeys("6");
        browser.findElement(By.id("ask")).click();
        await().atMost(WAIT).until(() -> "done".equals(browser.findElement(By.id("answer")).getDomAttribute("data-state")));
        String shown = browser.findElement(By.id("answer")).getDomProperty("textContent");
        String tokenEvents = browser.findElement(By.id("answer")).getDomAttribute("data-tokens");
        String generated = browser.findElement(By.cssSelector("#usage dd[data-figure=generated]")).getText();
        // Streamed: several token events (a token that ends mid UTF-8 character waits for the next one, so at
        // most one event per generated token), which the browser joined into the whole answer.
        assertThat(Integer.parseInt(tokenEvents)).isGreaterThan(1).isLessThanOrEqualTo(Integer.parseInt(generated));
        assertThat(browser.findElement(By.id("prefill-text")).getText()).matches("\\d+ / \\d+ tokens");
        // Greedy: the same question over the API gives the same answer the browser assembled from the stream.
        String viaApi = given().header("Authorization", "Bearer test-key-acme").contentType(ContentType.JSON)
                .body("{\"question\": \"What failed?\", \"maxTokens\": 6}")
                .post("/v1/sessions/console-log/query").then().statusCode(200).extract().path("answer");
        assertThat(shown).isEqualTo(viaApi);
        screenshot("console-session.png");

        // A watch created in the console announces its answer live once new data arrives.
        browser.findElement(By.id("watch-question")).sendKeys("Did anything crash?");
        browser.findElement(By.id("create-watch")).click();
        // data-live: the watch's event stream is open, so no announced answer can be missed from here on.
        await().atMost(WAIT).until(() -> browser.findElements(By.cssSelector("#watches tbody tr[data-live=true]")).size() == 1);
        given().header("Authorization", "Bearer test-key-acme").contentType(ContentType.TEXT)
                .body("worker-3 crashed too").post("/v1/sessions/console-log/records").then().statusCode(202);
        await().atMost(WAIT).until(() -> !browser.findElements(By.cssSelector("#watch-answers li")).isEmpty());
        await().atMost(WAIT).until(() -> browser.findElements(By.cssSelector("#records li")).size() == 3);
        ((ChromeDriver) browser).executeScript("document.getElementById('watches').scrollIntoView()");
        screenshot("console-watch.png");
        browser.findElement(By.cssSelector("#watches .delete-watch")).click();
        await().atMost(WAIT).until(() -> browser.findElements(By.cssSelector("#watches tbody tr")).isEmpty());

        // The sessions list finds it by search.
        browser.get(console.toString());
        browser.findElement(By.id("search")).sendKeys("console-");
        browser.findElement(By.cssSelector("#search-form button")).click();
        await().atMost(WAIT).until(() -> rows("sessions").stream().anyMatch(row -> row.startsWith("console-log 3 ") && row.contains(" device cpu() ")));
        screenshot("console-sessions.png");

        // Workers: the one worker of the pipeline owns all four partitions.
        browser.get(console + "/workers");
        await().atMost(WAIT).until(() -> rows("workers").size() == 1);
        assertThat(rows("workers").get(0)).startsWith("e2e-1 0, 1, 2, 3 ");
        assertThat(text("workers-summary")).isEqualTo("1 worker(s) own 4 of 4 partitions");
        screenshot("console-workers.png");

        // Evaluation reports: the HTML report found in the reports directory opens in the page.
        Path reports = Path.of("target/console-reports/passkey-run");
        Files.createDirectories(reports);
        Files.writeString(reports.resolve("report.html"), "<html><body><h1 id=\"title\">passkey accuracy</h1></body></html>");
        browser.get(console + "/reports");
        await().atMost(WAIT).until(() -> !browser.findElements(By.cssSelector("#reports a")).isEmpty());
        browser.findElement(By.cssSelector("#reports a")).click();
        awaitVisible("report-frame");
        browser.switchTo().frame("report-frame");
        await().atMost(WAIT).until(() -> !browser.findElements(By.id("title")).isEmpty());
        assertThat(text("title")).isEqualTo("passkey accuracy");
        browser.switchTo().defaultContent();

        // 404: a session that does not exist says so.
        browser.get(console + "/sessions/no-such-session");
        await().atMost(WAIT).until(() -> text("flash").contains("No session 'no-such-session'"));

        // Delete, confirmed in the dialog: the session is gone everywhere.
        browser.get(console + "/sessions/console-log");
        awaitVisible("delete-session");
        browser.findElement(By.id("delete-session")).click();
        browser.findElement(By.id("delete-confirm")).click();
        await().atMost(WAIT).until(() -> text("flash").contains("is being deleted"));
        await().atMost(WAIT).untilAsserted(() -> given().header("Authorization", "Bearer test-key-acme")
                .get("/v1/sessions/console-log").then().statusCode(404));
    }

    private void login(String key) {
        WebElement input = browser.findElement(By.id("api-key"));
        input.clear();
        input.sendKeys(key);
        browser.findElement(By.id("login-submit")).click();
    }

    private void awaitVisible(String id) {
        await().atMost(WAIT).until(() -> !browser.findElements(By.id(id)).isEmpty() && browser.findElement(By.id(id)).isDisplayed());
    }

    private String text(String id) {
        return browser.findElement(By.id(id)).getText();
    }

    private List<String> rows(String table) {
        return browser.findElements(By.cssSelector("#" + table + " tbody tr")).stream().map(WebElement::getText).toList();
    }

    private void screenshot(String name) throws IOException {
        Path dir = Path.of(System.getProperty("console.screenshots", "target/console-screenshots"));
        Files.createDirectories(dir);
        Files.write(dir.resolve(name), ((ChromeDriver) browser).getScreenshotAs(OutputType.BYTES));
    }

    private static Optional<Path> onPath(String command) {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .map(dir -> Path.of(dir, command)).filter(Files::isExecutable).findFirst();
    }
}

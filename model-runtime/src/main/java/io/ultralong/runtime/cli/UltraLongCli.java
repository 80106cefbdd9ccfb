package io.ultralong.runtime.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The model runtime's command line: {@code logits}, {@code generate} and {@code inspect}, a contract for operators
 * and for checks against other implementations. Results go to stdout, logs and errors to stderr.
 *
 * <p>Exit codes: 0 success, 2 bad arguments or an unusable model directory (one line on stderr), 1 any other
 * failure.
 */
@Command(name = "model-runtime", mixinStandardHelpOptions = true, version = "UltraLong model runtime 0.1.0",
        description = "Runs Llama 3.x / UltraLong-8B HuggingFace checkpoints on DJL + PyTorch.",
        subcommands = {LogitsCommand.class, GenerateCommand.class, InspectCommand.class})
public final class UltraLongCli implements Runnable {

    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing command: logits, generate or inspect");
    }

    public static void main(String[] args) {
        System.exit(run(System.out, System.err, args));
    }

    /**
     * Must run before the first DJL class loads: the PyTorch native jar is on the class path, so nothing may
     * be downloaded, and the tokenizer would otherwise look for a CUDA build of itself on GPU hosts.
     */
    static void prepareNativeLibraries() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getProperty("RUST_FLAVOR") == null && System.getenv("RUST_FLAVOR") == null) {
            System.setProperty("RUST_FLAVOR", "cpu");
        }
    }

    /** Runs one command line with the given streams; returns the exit code. */
    public static int run(PrintStream out, PrintStream err, String... args) {
        prepareNativeLibraries();
        PrintStream resultStream = out;   // PrintWriter's own field 'out' shadows the parameter inside the subclass
        PrintWriter stdout = new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true) {
            @Override
            public boolean checkError() {
                // a PrintStream swallows its IOExceptions (e.g. a closed pipe): ask it too
                return super.checkError() || resultStream.checkError();
            }
        };
        PrintWriter stderr = new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true);
        CommandLine cli = new CommandLine(new UltraLongCli())
                .setOut(stdout)
                .setErr(stderr)
                .setParameterExceptionHandler((e, a) -> {
                    stderr.println("error: " + e.getMessage());
                    stderr.println("usage: " + e.getCommandLine().getCommandSpec().qualifiedName()
                            + " --help for the options");
                    return EXIT_USAGE;
                })
                .setExecutionExceptionHandler((e, command, parsed) -> {
                    // an unusable --model or a value outside the model's range is the caller's to fix
                    boolean usage = e instanceof IllegalArgumentException;
                    stderr.println("error: " + oneLine(e));
                    return usage ? EXIT_USAGE : EXIT_FAILURE;
                });
        try {
            return cli.execute(args);
        } finally {
            stdout.flush();
            stderr.flush();
        }
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.replace('\n', ' ');
    }
}

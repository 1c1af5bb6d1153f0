package dev.peco4j.peco.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code peco} command line: one subcommand per job. Run through the {@code ./peco} launcher. */
@Command(name = "peco", mixinStandardHelpOptions = true, version = "peco4j 0.1.0-SNAPSHOT",
        description = "peco4j: a pure-Java deep-learning stack and an open implementation of PeCo.",
        subcommands = {TrainClassifierCommand.class, InfoCommand.class, SpiralsCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line with errors reported as one line, "peco: &lt;message&gt;" and exit code 1 (our
     * messages name the input, the file and what was expected); -Dpeco4j.stackTraces=true adds the trace.
     */
    static CommandLine commandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler((e, cl, parsed) -> {
            cl.getErr().println("peco: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            if (Boolean.getBoolean("peco4j.stackTraces")) e.printStackTrace(cl.getErr());
            return 1;
        });
    }
}

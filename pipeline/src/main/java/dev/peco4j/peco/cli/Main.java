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
        System.exit(new CommandLine(new Main()).execute(args));
    }
}

package dev.peco4j.peco.cli;

import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code peco} command line: one subcommand per job. Run through the {@code ./peco} launcher.
 *
 * <p>Errors are one line on stderr: {@code peco: <message>} naming the input, file or option and
 * what was expected, with exit code 1; a usage error (unknown option, bad value) is the same line
 * and a pointer to {@code --help}, exit code 2. {@code --verbose} adds the stack trace.
 */
@Command(name = "peco", mixinStandardHelpOptions = true, version = "peco4j 0.1.0-SNAPSHOT",
        description = "peco4j: a pure-Java deep-learning stack and an open implementation of PeCo.",
        subcommands = {TrainClassifierCommand.class, TrainPerceptualCommand.class, TrainTokenizerCommand.class, PretrainCommand.class, FinetuneCommand.class, ProbeCommand.class, DemoCommand.class, AblationCommand.class, TokenizerCommands.Tokenize.class, TokenizerCommands.Reconstruct.class, TokenizerCommands.ProbeTokens.class, InfoCommand.class, SpiralsCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print the stack trace of an error.")
    boolean verbose;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        int rc;
        try {
            rc = commandLine().execute(args);
        } catch (OutOfMemoryError e) { // picocli lets Errors through
            System.err.println("peco: " + describe(e));
            rc = 1;
        }
        System.exit(rc);
    }

    /** The command line with errors reported as one line (see the class comment). */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine c = e.getCommandLine();
            PrintWriter err = c.getErr();
            err.println("peco: " + e.getMessage());
            err.println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for more information.");
            if (verbose(c.getParseResult())) e.printStackTrace(err);
            return 2;
        });
        cl.setExecutionExceptionHandler((e, c, parsed) -> {
            c.getErr().println("peco: " + describe(e));
            if (verbose(parsed)) e.printStackTrace(c.getErr());
            return 1;
        });
        return cl;
    }

    private static boolean verbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) if (p.hasMatchedOption("--verbose")) return true;
        return false;
    }

    /** One line for an error: our messages as they are; the JDK's file errors, which are only a path, with what went wrong. */
    static String describe(Throwable e) {
        String m = e.getMessage();
        if (e instanceof NoSuchFileException f) return "no such file or folder: " + f.getFile();
        if (e instanceof AccessDeniedException f) return "permission denied: " + f.getFile();
        if (e instanceof FileAlreadyExistsException f) return f.getFile() + " already exists" + (f.getOtherFile() == null ? "" : " (" + f.getOtherFile() + ")");
        if (e instanceof NotDirectoryException f) return f.getFile() + " is not a folder";
        if (e instanceof FileSystemException f) return f.getFile() + ": " + (f.getReason() == null ? e.getClass().getSimpleName() : f.getReason());
        if (e instanceof OutOfMemoryError) {
            return "out of memory (" + m + "); give the JVM more with PECO4J_JVM_OPTS=-Xmx<size>, or lower --batch-size";
        }
        if (e instanceof StackOverflowError) return "stack overflow (an internal error: please report it with the --verbose trace)";
        if (m == null || m.isBlank()) return e.getClass().getSimpleName() + " (an internal error: please report it with the --verbose trace)";
        return m.lines().findFirst().orElse(m);
    }
}

package dev.peco4j.peco.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {
    private static String run(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, new CommandLine(new Main()).execute(args));
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void infoNamesJdkVectorBackendAndThreads() {
        String out = run("info");
        assertTrue(out.contains("jdk ") && out.contains("vector ") && out.contains("float lanes")
                && out.contains("backend  vector") && out.contains("threads  "), out);
    }

    @Test
    void spiralsLearnsAndIsDeterministic() {
        String a = run("spirals", "--points", "60", "--steps", "300", "--seed", "3");
        String b = run("spirals", "--points", "60", "--steps", "300", "--seed", "3");
        String last = a.lines().filter(l -> l.startsWith("step  300")).findFirst().orElseThrow();
        assertEquals(last, b.lines().filter(l -> l.startsWith("step  300")).findFirst().orElseThrow());
        double acc = Double.parseDouble(last.replaceAll(".*accuracy ([0-9.]+)%.*", "$1"));
        assertTrue(acc > 80, last);
    }

    @Test
    void badInputIsOneLineNamingItAndExitCodeOne() {
        java.io.StringWriter err = new java.io.StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new java.io.PrintWriter(err, true));
        assertEquals(1, cl.execute("train-classifier", "--data", "/no/such/data", "--out", System.getProperty("java.io.tmpdir") + "/peco-main-test"));
        assertEquals("peco: --data /no/such/data: no such file or folder (expected subset, full, mnist, a folder of IDX files or an image folder)",
                err.toString().strip());
    }

    @Test
    void aDeviceThatCannotStartSaysWhyInOneLineAndExitCodeOne() {
        String out = System.getProperty("java.io.tmpdir") + "/peco-main-device-test";
        for (String device : new String[] {"tpu", "cuda", "opencl:99"}) {
            java.io.StringWriter err = new java.io.StringWriter();
            CommandLine cl = Main.commandLine();
            cl.setErr(new java.io.PrintWriter(err, true));
            assertEquals(1, cl.execute("train-classifier", "--device", device, "--out", out), device);
            String line = err.toString().strip();
            assertEquals(1, line.lines().count(), line);
            String name = device.equals("tpu") ? "device: unknown device 'tpu'" : device.equals("cuda") ? "peco: cuda:0: " : "peco: opencl";
            assertTrue(line.contains(name), line);
        }
        assertTrue(!java.nio.file.Files.exists(java.nio.file.Path.of(out)), "the run folder was created before the device was checked");
    }
}

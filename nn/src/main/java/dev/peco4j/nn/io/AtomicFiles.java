package dev.peco4j.nn.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that a crash at any point leaves either the old file or the complete new one:
 * the data goes to a temporary file in the same folder, is forced to disk, then renamed over the
 * target atomically, and the folder is forced so the rename survives a power loss.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    @FunctionalInterface
    public interface Writer {
        void write(FileChannel channel) throws IOException;
    }

    /** Writes bytes atomically. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, ch -> {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) ch.write(b);
        });
    }

    /** Writes text (UTF-8) atomically. */
    public static void writeString(Path target, String text) throws IOException {
        write(target, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /**
     * Writes through {@code writer} atomically. An I/O error (a full disk, a folder that is a file)
     * comes back as an IOException naming the target: {@code writing runs/x/last.safetensors: No space
     * left on device}.
     */
    public static void write(Path target, Writer writer) throws IOException {
        try {
            writeAtomically(target, writer);
        } catch (IOException e) {
            throw named(target, e);
        }
    }

    /** An IOException whose message names the file (kept as it is when it already does). */
    public static IOException named(Path file, IOException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (m.startsWith("writing ") || m.startsWith("reading ")) return e;
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) m = f.getReason() + " (" + f.getFile() + ")";
        else if (e instanceof java.nio.file.FileSystemException f) m = e.getClass().getSimpleName().replace("Exception", "") + " (" + f.getFile() + ")";
        return new IOException("writing " + file + ": " + m, e);
    }

    /**
     * Removes the temporary files an interrupted {@link #write} left in a folder (a kill -9 during a
     * write skips the cleanup); returns how many. Only names this class makes are touched.
     */
    public static int removeLeftovers(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        int n = 0;
        try (var s = Files.list(dir)) {
            for (Path p : s.filter(AtomicFiles::isLeftover).toList()) if (Files.deleteIfExists(p)) n++;
        }
        return n;
    }

    static boolean isLeftover(Path p) {
        String n = p.getFileName().toString();
        return n.startsWith(".") && n.endsWith(".tmp") && n.lastIndexOf('.', n.length() - 5) > 0 && Files.isRegularFile(p);
    }

    private static void writeAtomically(Path target, Writer writer) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        boolean moved = false;
        try {
            readableByAll(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writer.write(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + abs + " atomically on this file system", e);
            }
            moved = true;
            forceDirectory(dir);
        } finally {
            if (!moved) Files.deleteIfExists(tmp);
        }
    }

    /** Temporary files are created owner-only; the result gets the usual rw-r--r--, as a plain write would. */
    private static void readableByAll(Path p) throws IOException {
        if (Files.getFileStore(p).supportsFileAttributeView(java.nio.file.attribute.PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    private static void forceDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // some platforms cannot open or sync a directory; the rename itself is still atomic
        }
    }
}

package dev.peco4j.peco.data;

/** An image file that cannot be decoded; the message names the file and the reason. */
public final class CorruptImageException extends RuntimeException {
    public final String file;

    public CorruptImageException(String file, String reason, Throwable cause) {
        super(file + ": " + reason, cause);
        this.file = file;
    }
}

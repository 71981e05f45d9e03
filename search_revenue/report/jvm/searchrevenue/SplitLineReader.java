package searchrevenue;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The lines one byte range (split) of a file owns, with the split convention of Hadoop's line
 * reader: a split owns the lines that start after its first byte and at or before its end (the
 * first split also owns the line at offset 0), so every line belongs to exactly one split, in
 * file order. Only LF ends a line (R1); the LF is not part of the line.
 */
public final class SplitLineReader {
    // The longest array the JVM allocates (a few bytes under Integer.MAX_VALUE).
    private static final int MAX_LINE_BYTES = Integer.MAX_VALUE - 8;
    private final long start;
    private final long end;
    private final int bufferBytes;

    /** Where the split starts and ends in the file; the buffer grows beyond bufferBytes for a longer line. */
    public SplitLineReader(long start, long end, int bufferBytes) {
        this.start = start;
        this.end = end;
        this.bufferBytes = Math.max(1, bufferBytes);
    }

    /** Receives each line as buf[from, to), valid only during the call. */
    interface LineSink {
        void line(byte[] buf, int from, int to);
    }

    /** The split's lines as arrays: for small ranges (tests hold the reader to its convention with them). */
    public List<byte[]> lines(InputStream in) throws IOException {
        List<byte[]> lines = new ArrayList<>();
        read(in, (buf, from, to) -> lines.add(Arrays.copyOfRange(buf, from, to)));
        return lines;
    }

    /** Hand the split's lines to `sink`, reading `in`, which stands at the split's start. */
    void read(InputStream in, LineSink sink) throws IOException {
        byte[] buf = new byte[bufferBytes];
        long bufOffset = start;  // the file offset of buf[0]
        int fill = 0;
        int lineStart = 0;
        int scanFrom = 0;
        // Another split owns the line running into this one's first byte (and one starting there).
        boolean skipping = start != 0;
        while (skipping || bufOffset + lineStart <= end) {
            int lf = ByteWords.indexOf(buf, (byte) '\n', scanFrom, fill);
            if (lf >= 0) {
                if (!skipping) {
                    sink.line(buf, lineStart, lf);
                }
                skipping = false;
                lineStart = lf + 1;
                scanFrom = lineStart;
                continue;
            }
            if (skipping) {
                // The line another split owns is not kept, however long it runs.
                bufOffset += fill;
                fill = 0;
            } else if (lineStart > 0) {
                // No LF in what is buffered: keep the line's start at buf[0], read on.
                System.arraycopy(buf, lineStart, buf, 0, fill - lineStart);
                bufOffset += lineStart;
                fill -= lineStart;
            }
            lineStart = 0;
            scanFrom = fill;
            if (fill == buf.length) {
                buf = grown(buf, bufOffset);
            }
            // A stream may return fewer bytes than asked (S3 often does): the loop reads on.
            int read = in.read(buf, fill, buf.length - fill);
            if (read < 0) {
                if (!skipping && fill > 0) {
                    sink.line(buf, 0, fill);  // the file's last line, without an LF
                }
                return;
            }
            fill += read;
        }
    }

    /** The buffer twice as long, for a line longer than it; a line must fit one Java array. */
    private static byte[] grown(byte[] buf, long lineOffset) throws IOException {
        if (buf.length >= MAX_LINE_BYTES) {
            throw new IOException("the line at byte " + lineOffset + " is longer than " + MAX_LINE_BYTES + " bytes");
        }
        return Arrays.copyOf(buf, (int) Math.min(MAX_LINE_BYTES, 2L * buf.length));
    }
}

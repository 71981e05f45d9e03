package searchrevenue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.util.SerializableConfiguration;

/**
 * A pass's tasks over an uncompressed file read in byte ranges (splits), one task per split,
 * with the split convention of Hadoop's line reader: a split owns the lines that start after its
 * first byte and at or before its end (the first split also owns the line at offset 0), so every
 * line belongs to exactly one split, in file order. Only LF ends a line (R1).
 */
final class FileSplitLines implements Function2<Integer, Iterator<Integer>, Iterator<Row>> {
    private static final long serialVersionUID = 1L;
    private static final int MAX_BUFFER_BYTES = 1 << 20;
    // The longest array the JVM allocates (a few bytes under Integer.MAX_VALUE).
    private static final int MAX_LINE_BYTES = Integer.MAX_VALUE - 8;
    private final LineScan pass;
    private final URI file;
    private final long length;
    private final long splitBytes;
    private final Broadcast<SerializableConfiguration> hadoopConf;

    FileSplitLines(
            LineScan pass, URI file, long length, long splitBytes, Broadcast<SerializableConfiguration> hadoopConf) {
        this.pass = pass;
        this.file = file;
        this.length = length;
        this.splitBytes = splitBytes;
        this.hadoopConf = hadoopConf;
    }

    /** One partition per split, partition i reading split i. */
    JavaRDD<Row> rdd(JavaSparkContext context) {
        int splits = (int) Math.max(1L, (length + splitBytes - 1) / splitBytes);
        List<Integer> indexes = new ArrayList<>(splits);
        for (int i = 0; i < splits; i++) {
            indexes.add(i);
        }
        return context.parallelize(indexes, splits).mapPartitionsWithIndex(this, true);
    }

    @Override
    public Iterator<Row> call(Integer split, Iterator<Integer> ignored) {
        long start = split * splitBytes;
        long end = Math.min(length, start + splitBytes);
        LineScan.PartitionLines lines = pass.new PartitionLines(split, start);
        Path path = new Path(file);
        try (FSDataInputStream in = path.getFileSystem(hadoopConf.value().value()).open(path)) {
            in.seek(start);
            readLines(in, start, end, lines, bufferBytes());
        } catch (IOException err) {
            throw new UncheckedIOException(err);
        }
        return lines.rows();
    }

    /** A megabyte, or less for small splits (tests split files into a few bytes each): it grows for long lines. */
    private int bufferBytes() {
        return (int) Math.min(MAX_BUFFER_BYTES, Math.max(4096L, splitBytes + 1024L));
    }

    private static void readLines(
            FSDataInputStream in, long start, long end, LineScan.PartitionLines lines, int bufferBytes)
            throws IOException {
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
                    lines.line(buf, lineStart, lf);
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
            int read = in.read(buf, fill, buf.length - fill);
            if (read < 0) {
                if (!skipping && fill > 0) {
                    lines.line(buf, 0, fill);  // the file's last line, without an LF
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

package searchrevenue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
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
 * each split's lines read by {@link SplitLineReader}.
 */
final class FileSplitLines implements Function2<Integer, Iterator<Integer>, Iterator<Row>> {
    private static final long serialVersionUID = 1L;
    private static final int MAX_BUFFER_BYTES = 1 << 20;
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
            new SplitLineReader(start, end, bufferBytes()).read(in, lines);
        } catch (IOException err) {
            throw new UncheckedIOException(err);
        }
        return lines.rows();
    }

    /** A megabyte, or less for small splits (tests split files into a few bytes each): it grows for long lines. */
    private int bufferBytes() {
        return (int) Math.min(MAX_BUFFER_BYTES, Math.max(4096L, splitBytes + 1024L));
    }
}

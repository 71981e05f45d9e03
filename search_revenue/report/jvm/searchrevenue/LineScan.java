package searchrevenue;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

/**
 * One pass over the lines of one file (R1): each task sees each line of its part of the file
 * once, as raw bytes without its LF or CRLF end, with its position and whether it is the header.
 *
 * <p>Subclasses emit only the few rows the engine needs; no per-line row ever enters Spark's row
 * machinery. A line's position is its partition index above rowIndexBits bits of its index in
 * the partition (monotonically_increasing_id's layout), so positions follow the file order and
 * line numbers can be recovered from per-partition counts.
 *
 * <p>An uncompressed file is read in byte ranges by {@link FileSplitLines}, without Spark's text
 * source (its line reader and row copies cost more than the rules here); a compressed one goes
 * through Spark's text source ({@link TextSourceLines}), whose codecs decide how it splits.
 */
abstract class LineScan implements Serializable {
    private static final long serialVersionUID = 1L;
    final int rowIndexBits;

    LineScan(int rowIndexBits) {
        this.rowIndexBits = rowIndexBits;
    }

    /** This pass's rows over the one file `text` (Spark's text source, one value column) reads. */
    final JavaRDD<Row> scan(Dataset<Row> text) {
        String[] files = text.inputFiles();
        if (files.length != 1) {
            throw new IllegalArgumentException("one input file expected, found " + files.length);
        }
        SparkSession session = text.sparkSession();
        Configuration conf = session.sessionState().newHadoopConf();
        // inputFiles gives URIs (a "[" as %5B): a path built from the string would name another file.
        URI file = URI.create(files[0]);
        Path path = new Path(file);
        if (new CompressionCodecFactory(conf).getCodec(path) != null) {
            return text.queryExecution().toRdd().toJavaRDD().mapPartitionsWithIndex(new TextSourceLines(this), true);
        }
        try {
            long length = path.getFileSystem(conf).getFileStatus(path).getLen();
            JavaSparkContext context = JavaSparkContext.fromSparkContext(session.sparkContext());
            Broadcast<SerializableConfiguration> hadoopConf = context.broadcast(new SerializableConfiguration(conf));
            FileSplitLines splits = new FileSplitLines(this, file, length, splitBytes(session, length), hadoopConf);
            return splits.rdd(context);
        } catch (IOException err) {
            throw new UncheckedIOException(err);
        }
    }

    /** The split size Spark's file sources choose for one file (FilePartition.maxSplitBytes). */
    private static long splitBytes(SparkSession session, long length) {
        long maxBytes = session.sessionState().conf().filesMaxPartitionBytes();
        long openCost = session.sessionState().conf().filesOpenCostInBytes();
        scala.Option<Object> minPartitions = session.sessionState().conf().filesMinPartitionNum();
        // SparkSession.leafNodeDefaultParallelism, which Java cannot call.
        String leafParallelism = session.conf().get("spark.sql.leafNodeDefaultParallelism", null);
        long cores = minPartitions.isDefined()
            ? ((Number) minPartitions.get()).longValue()
            : leafParallelism != null
                ? Long.parseLong(leafParallelism.trim())
                : session.sparkContext().defaultParallelism();
        long perCore = (length + openCost) / Math.max(1L, cores);
        return Math.max(1L, Math.min(maxBytes, Math.max(openCost, perCore)));
    }

    /** The state of one partition's scan: tasks never share it. */
    abstract PartitionScan start(int partition);

    /** One task's lines, in file order, handed to this pass's PartitionScan. */
    final class PartitionLines implements SplitLineReader.LineSink {
        private final int partition;
        private final PartitionScan scan;
        private final List<Row> out = new ArrayList<>();
        private final long blockStart;
        private long index;

        /** blockStart: where the task's part of the file starts (0: its first line is the header). */
        PartitionLines(int partition, long blockStart) {
            this.partition = partition;
            this.blockStart = blockStart;
            this.scan = start(partition);
        }

        /** The next line, bytes[from, to), its LF end already off. */
        @Override
        public void line(byte[] bytes, int from, int to) {
            if (to > from && bytes[to - 1] == '\r') {
                to--;  // a byte, not a character: a truncated character before it stays whole
            }
            long pos = ((long) partition << rowIndexBits) | index;
            if (!(index == 0 && blockStart == 0) && to > from) {
                scan.dataLine(pos, bytes, from, to, out);
            }
            index++;
        }

        /** The rows of the partition, after its last line. */
        Iterator<Row> rows() {
            if (index > 0) {
                scan.finish(blockStart, index, out);
            }
            return out.iterator();
        }
    }

    interface PartitionScan {
        /**
         * A data line (R1): neither the header nor empty, its bytes in line[from, to). The array
         * is reused for the next line (no allocation per line): copy what is kept.
         */
        void dataLine(long pos, byte[] line, int from, int to, List<Row> out);

        /** After the partition's last line; lines counts them all, header and empty ones included. */
        void finish(long blockStart, long lines, List<Row> out);
    }
}

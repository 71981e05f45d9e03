package searchrevenue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.rdd.InputFileBlockHolder;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * One task's pass over the lines Spark's text source read from its part of the file (R1): each
 * line's raw bytes without its LF or CRLF end, its position, and whether it is the header.
 *
 * <p>Subclasses see every line once and emit only the few rows the engine needs; no per-line row
 * ever enters Spark's row machinery. A line's position is its partition index above
 * rowIndexBits bits of its index in the partition (monotonically_increasing_id's layout), so
 * positions follow the file order and line numbers can be recovered from per-partition counts.
 */
abstract class LineScan implements Function2<Integer, Iterator<InternalRow>, Iterator<Row>> {
    private static final long serialVersionUID = 1L;
    private final int rowIndexBits;

    LineScan(int rowIndexBits) {
        this.rowIndexBits = rowIndexBits;
    }

    @Override
    public Iterator<Row> call(Integer partition, Iterator<InternalRow> rows) {
        List<Row> out = new ArrayList<>();
        PartitionScan scan = start(partition);
        long blockStart = -1;
        long index = 0;
        byte[] line = new byte[1024];
        while (rows.hasNext()) {
            UTF8String value = rows.next().getUTF8String(0);
            if (index == 0) {
                // Set by the file scan for the split this task reads: the header is the first
                // line of the split that starts the file, whichever partition holds it.
                blockStart = InputFileBlockHolder.getStartOffset();
            }
            int length = value.numBytes();
            if (length > line.length) {
                line = new byte[Math.max(length, 2 * line.length)];
            }
            Platform.copyMemory(value.getBaseObject(), value.getBaseOffset(), line, Platform.BYTE_ARRAY_OFFSET, length);
            if (length > 0 && line[length - 1] == '\r') {
                length--;  // a byte, not a character: a truncated character before it stays whole
            }
            long pos = ((long) partition << rowIndexBits) | index;
            if (!(index == 0 && blockStart == 0) && length > 0) {
                scan.dataLine(pos, line, length, out);
            }
            index++;
        }
        if (index > 0) {
            scan.finish(blockStart, index, out);
        }
        return out.iterator();
    }

    /** The state of one partition's scan: tasks never share it. */
    abstract PartitionScan start(int partition);

    interface PartitionScan {
        /**
         * A data line (R1): neither the header nor empty, its bytes in line[0, length). The array
         * is reused for the next line (no allocation per line): copy what is kept.
         */
        void dataLine(long pos, byte[] line, int length, List<Row> out);

        /** After the partition's last line; lines counts them all, header and empty ones included. */
        void finish(long blockStart, long lines, List<Row> out);
    }
}

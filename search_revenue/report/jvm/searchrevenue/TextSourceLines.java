package searchrevenue;

import java.util.Iterator;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.rdd.InputFileBlockHolder;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.types.UTF8String;

/** A pass's task over the rows Spark's text source read (a compressed file: its codec splits). */
final class TextSourceLines implements Function2<Integer, Iterator<InternalRow>, Iterator<Row>> {
    private static final long serialVersionUID = 1L;
    private final LineScan pass;

    TextSourceLines(LineScan pass) {
        this.pass = pass;
    }

    @Override
    public Iterator<Row> call(Integer partition, Iterator<InternalRow> rows) {
        LineScan.PartitionLines lines = null;
        byte[] line = new byte[1024];
        while (rows.hasNext()) {
            UTF8String value = rows.next().getUTF8String(0);
            if (lines == null) {
                // Set by the file scan for the split this task reads: the header is the first
                // line of the split that starts the file, whichever partition holds it.
                lines = pass.new PartitionLines(partition, InputFileBlockHolder.getStartOffset());
            }
            int length = value.numBytes();
            if (length > line.length) {
                line = new byte[Math.max(length, 2 * line.length)];
            }
            Platform.copyMemory(value.getBaseObject(), value.getBaseOffset(), line, Platform.BYTE_ARRAY_OFFSET, length);
            lines.line(line, 0, length);
        }
        return lines == null ? java.util.Collections.<Row>emptyIterator() : lines.rows();
    }
}

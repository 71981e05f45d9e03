package searchrevenue;

import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * The first pass over the file's lines (R1, R2, R5, R3 shrink), in one scan of each line's bytes.
 *
 * <p>Emits per partition: one summary row (kind 0: block start, lines, data rows), each row
 * rejected for its field count or hit time (kind 1: position, reason, bytes), each other purchase
 * hit (kind 2: position, visitor hash, bytes, product list: its revenue rules run in Spark on
 * these rows alone) and one row of the distinct hashes of the visitors with a possible search hit
 * (kind 3: packed by {@link VisitorHashes}, millions of them in few rows). Row layout: kind,
 * partition, pos, block_start, lines, rows_read, visitor_hash, reject_reason, line, product_list,
 * visitor_hashes.
 */
public final class FirstPassScan extends LineScan {
    private static final long serialVersionUID = 1L;
    static final int SUMMARY = 0;
    static final int REJECTED = 1;
    static final int PURCHASE = 2;
    static final int SEARCH_VISITOR = 3;
    private final ClassifyHitLine rules;
    private final HitColumnIndexes columns;
    private final String fieldCountReason;
    private final String hitTimeReason;

    public FirstPassScan(
            int rowIndexBits, ClassifyHitLine rules, HitColumnIndexes columns,
            String fieldCountReason, String hitTimeReason) {
        super(rowIndexBits);
        this.rules = rules;
        this.columns = columns;
        this.fieldCountReason = fieldCountReason;
        this.hitTimeReason = hitTimeReason;
    }

    /** The first pass over the lines of the file Spark's text source `text` reads, as a DataFrame. */
    public Dataset<Row> run(Dataset<Row> text, StructType schema) {
        return text.sparkSession().createDataFrame(scan(text), schema);
    }

    @Override
    PartitionScan start(int partition) {
        return new PartitionScan() {
            private final LineFields fields = columns.newLineFields();
            private final VisitorKeyBytes key = new VisitorKeyBytes();
            private final LongSet searchVisitors = new LongSet();
            private long rowsRead;

            @Override
            public void dataLine(long pos, byte[] line, int from, int to, List<Row> out) {
                rowsRead++;
                fields.read(line, from, to);
                if (fields.count() != columns.fieldCount) {
                    out.add(row(REJECTED, partition, pos, null, null, null, null, fieldCountReason,
                        Arrays.copyOfRange(line, from, to), null));
                    return;
                }
                int time = columns.hitTime;
                if (rules.hitTime(line, fields.start(time), fields.end(time)) < 0) {
                    out.add(row(REJECTED, partition, pos, null, null, null, null, hitTimeReason,
                        Arrays.copyOfRange(line, from, to), null));
                    return;
                }
                int events = columns.eventList;
                boolean purchase = rules.isPurchase(line, fields.start(events), fields.end(events));
                int referrer = columns.referrer;
                boolean search = rules.couldBeSearch(line, fields.start(referrer), fields.end(referrer));
                if (!purchase && !search) {
                    return;
                }
                long hash = columns.visitorKey(key, line, fields).hash();
                if (search) {
                    searchVisitors.add(hash);
                }
                if (purchase) {
                    int products = columns.productList;
                    byte[] productList = Arrays.copyOfRange(line, fields.start(products), fields.end(products));
                    out.add(row(PURCHASE, partition, pos, null, null, null, hash, null, Arrays.copyOfRange(line, from, to),
                        productList));
                }
            }

            @Override
            public void finish(long blockStart, long lines, List<Row> out) {
                out.add(row(SUMMARY, partition, null, blockStart, lines, rowsRead, null, null, null, null));
                Row searchers = RowFactory.create(
                    SEARCH_VISITOR, partition, null, null, null, null, null, null, null, null,
                    VisitorHashes.pack(searchVisitors.toArray()));
                out.add(searchers);
            }
        };
    }

    private static Row row(
            int kind, int partition, Long pos, Long blockStart, Long lines, Long rowsRead, Long visitorHash,
            String rejectReason, byte[] line, byte[] productList) {
        return RowFactory.create(
            kind, partition, pos, blockStart, lines, rowsRead, visitorHash, rejectReason, line, productList, null);
    }
}

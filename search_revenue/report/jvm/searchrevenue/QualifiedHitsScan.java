package searchrevenue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * The second pass (R3 shrink): every hit of the qualified visitors, those whose visitor hash the
 * first pass found with both a purchase and a possible search hit, and nothing of the others.
 *
 * <p>Rows rejected for their field count or hit time are left out (R2: they take no part in any
 * visit); purchases whose revenue fields are rejected are left out by the caller, which holds the
 * revenue rules. Row layout: visitor (key bytes), hit_time_gmt, pos, product_list (bytes, purchase
 * hits only), search_referrer (bytes, possible search hits only).
 */
public final class QualifiedHitsScan extends LineScan {
    private static final long serialVersionUID = 1L;
    private final ClassifyHitLine rules;
    private final HitColumnIndexes columns;
    private final Broadcast<long[]> qualified;

    public QualifiedHitsScan(int rowIndexBits, ClassifyHitLine rules, HitColumnIndexes columns) {
        this(rowIndexBits, rules, columns, null);
    }

    private QualifiedHitsScan(
            int rowIndexBits, ClassifyHitLine rules, HitColumnIndexes columns, Broadcast<long[]> qualified) {
        super(rowIndexBits);
        this.rules = rules;
        this.columns = columns;
        this.qualified = qualified;
    }

    /**
     * The qualified visitors' hits in the file Spark's text source `text` reads, as a DataFrame.
     * The qualified visitors are the buyers that are also searchers; `visitors` holds both, in
     * one collect: a buyer's row has its hash in its first column (a long), a searcher row the
     * hashes of many searchers packed by {@link VisitorHashes} in its second (binary).
     */
    public Dataset<Row> run(Dataset<Row> text, Dataset<Row> visitors, StructType schema) {
        LongSet searching = new LongSet();
        List<Long> buying = new ArrayList<>();
        for (Row row : visitors.collectAsList()) {
            if (row.isNullAt(0)) {
                VisitorHashes.unpackInto((byte[]) row.get(1), searching);
            } else {
                buying.add(row.getLong(0));
            }
        }
        LongSet hashes = new LongSet();
        for (long hash : buying) {
            if (searching.contains(hash)) {
                hashes.add(hash);
            }
        }
        Broadcast<long[]> table =
            JavaSparkContext.fromSparkContext(text.sparkSession().sparkContext()).broadcast(hashes.table());
        // Each run's tasks carry their own set: a later run on this object leaves this one's alone.
        QualifiedHitsScan bound = new QualifiedHitsScan(rowIndexBits, rules, columns, table);
        return text.sparkSession().createDataFrame(bound.scan(text), schema);
    }

    @Override
    PartitionScan start(int partition) {
        final LongSet visitors = new LongSet(qualified.value());
        return new PartitionScan() {
            private final LineFields fields = columns.newLineFields();
            private final VisitorKeyBytes key = new VisitorKeyBytes();

            @Override
            public void dataLine(long pos, byte[] line, int from, int to, List<Row> out) {
                // The visitor first, from the fields up to its key: most lines are passed over
                // there. Field count and hit time (R2) are checked on the qualified ones.
                if (!fields.readThrough(line, from, to, columns.lastVisitorField)
                        || !visitors.contains(columns.visitorKey(key, line, fields).hash())) {
                    return;
                }
                fields.readRest();
                if (fields.count() != columns.fieldCount) {
                    return;
                }
                int time = columns.hitTime;
                long hitTime = rules.hitTime(line, fields.start(time), fields.end(time));
                if (hitTime < 0) {
                    return;
                }
                int events = columns.eventList;
                int products = columns.productList;
                byte[] productList = rules.isPurchase(line, fields.start(events), fields.end(events))
                    ? Arrays.copyOfRange(line, fields.start(products), fields.end(products))
                    : null;
                int referrer = columns.referrer;
                byte[] searchReferrer = rules.couldBeSearch(line, fields.start(referrer), fields.end(referrer))
                    ? Arrays.copyOfRange(line, fields.start(referrer), fields.end(referrer))
                    : null;
                out.add(RowFactory.create(key.toByteArray(), hitTime, pos, productList, searchReferrer));
            }

            @Override
            public void finish(long blockStart, long lines, List<Row> out) {
                // Nothing per partition: the first pass counted the lines.
            }
        };
    }
}

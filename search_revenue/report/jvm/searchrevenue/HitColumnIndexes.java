package searchrevenue;

import java.io.Serializable;

/** The header's field count and the indexes of the fields the rules read (R1, from hit_rows). */
public final class HitColumnIndexes implements Serializable {
    private static final long serialVersionUID = 1L;
    final int fieldCount;
    final int hitTime;
    final int ip;
    final int userAgent;
    final int eventList;
    final int productList;
    final int referrer;
    /** The last of the visitor key's fields. */
    final int lastVisitorField;

    public HitColumnIndexes(
            int fieldCount, int hitTime, int ip, int userAgent, int eventList, int productList, int referrer) {
        int last = Math.max(Math.max(hitTime, ip), Math.max(Math.max(userAgent, eventList), Math.max(productList, referrer)));
        if (last >= fieldCount) {
            throw new IllegalArgumentException("a column index lies beyond the header's " + fieldCount + " fields");
        }
        this.fieldCount = fieldCount;
        this.hitTime = hitTime;
        this.ip = ip;
        this.userAgent = userAgent;
        this.eventList = eventList;
        this.productList = productList;
        this.referrer = referrer;
        this.lastVisitorField = Math.max(ip, userAgent);
    }

    LineFields newLineFields() {
        return new LineFields(fieldCount - 1);
    }

    /** The visitor key (R3) of a line with the header's field count. */
    VisitorKeyBytes visitorKey(VisitorKeyBytes key, byte[] line, LineFields fields) {
        return key.of(line, fields.start(ip), fields.end(ip), fields.start(userAgent), fields.end(userAgent));
    }
}

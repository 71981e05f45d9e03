package searchrevenue;

import org.apache.spark.sql.api.java.UDF1;

/**
 * The visitor of a hit line (R3), as bytes: see {@link VisitorKeyBytes}. Both Spark passes derive
 * the visitor with it, so a visitor's hits always meet, whatever their bytes.
 */
public final class VisitorKey implements UDF1<byte[], byte[]> {
    private static final long serialVersionUID = 1L;
    private final int ip;
    private final int userAgent;

    public VisitorKey(int ip, int userAgent) {
        this.ip = ip;
        this.userAgent = userAgent;
    }

    @Override
    public byte[] call(byte[] line) {
        return line == null ? null : new VisitorKeyBytes().of(line, ip, userAgent).toByteArray();
    }
}

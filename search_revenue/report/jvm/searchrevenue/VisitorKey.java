package searchrevenue;

import java.io.ByteArrayOutputStream;
import org.apache.spark.sql.api.java.UDF1;

/**
 * The visitor of a hit line (R3): {@code ip TAB user_agent}, as the stream engine reads them
 * (Python's replacement of invalid UTF-8), as UTF-8 bytes. The one derivation of the key: both
 * Spark passes use it, so a visitor's hits always meet, whatever their bytes.
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
        if (line == null) {
            return null;
        }
        ByteArrayOutputStream key = new ByteArrayOutputStream(128);
        appendField(key, line, ip);
        key.write(HitLineBytes.TAB);
        appendField(key, line, userAgent);
        return key.toByteArray();
    }

    private static void appendField(ByteArrayOutputStream key, byte[] line, int index) {
        int start = HitLineBytes.fieldStart(line, index);
        if (start >= 0) {
            HitLineBytes.appendPythonReplaced(key, line, start, HitLineBytes.fieldEnd(line, start));
        }
    }
}

package searchrevenue;

import java.util.Arrays;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.sql.catalyst.expressions.XXH64;

/**
 * A buffer holding one line's visitor key (R3): {@code ip TAB user_agent} as the stream
 * engine reads them (Python's replacement of invalid UTF-8), as UTF-8 bytes. The one derivation
 * of the key.
 */
final class VisitorKeyBytes {
    private static final byte[] TAB = {HitLineBytes.TAB};
    private static final long SEED = 42L;
    // Not a ByteArrayOutputStream: its writes are synchronized, a lock per byte on the hot path.
    private byte[] buf = new byte[256];
    private int count;

    /** The key of a line whose ip and user_agent fields are already located. */
    VisitorKeyBytes of(byte[] line, int ipStart, int ipEnd, int userAgentStart, int userAgentEnd) {
        count = 0;
        HitLineBytes.appendPythonReplaced(this, line, ipStart, ipEnd);
        append(TAB, 0, 1);
        HitLineBytes.appendPythonReplaced(this, line, userAgentStart, userAgentEnd);
        return this;
    }

    /** A non-zero 64-bit hash of the key, used only to shrink: equal keys always hash equal. */
    long hash() {
        long hash = XXH64.hashUnsafeBytes(buf, Platform.BYTE_ARRAY_OFFSET, count, SEED);
        return hash == 0 ? 1 : hash;  // 0 marks an empty slot of a LongSet
    }

    void append(byte[] bytes, int from, int length) {
        if (count + length > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(2 * buf.length, count + length));
        }
        System.arraycopy(bytes, from, buf, count, length);
        count += length;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, count);
    }
}

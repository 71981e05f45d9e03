package searchrevenue;

import java.util.Arrays;

/**
 * A buffer holding one line's visitor key (R3): {@code ip TAB user_agent} as the stream
 * engine reads them (Python's replacement of invalid UTF-8), as UTF-8 bytes. The one derivation
 * of the key.
 */
final class VisitorKeyBytes {
    private static final byte[] TAB = {HitLineBytes.TAB};
    // Not a ByteArrayOutputStream: its writes are synchronized, a lock per byte on the hot path.
    private byte[] buf = new byte[256];
    private int count;

    VisitorKeyBytes of(byte[] line, int ip, int userAgent) {
        count = 0;
        appendField(line, ip);
        append(TAB, 0, 1);
        appendField(line, userAgent);
        return this;
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

    private void appendField(byte[] line, int index) {
        int start = HitLineBytes.fieldStart(line, index);
        if (start >= 0) {
            HitLineBytes.appendPythonReplaced(this, line, start, HitLineBytes.fieldEnd(line, start));
        }
    }
}

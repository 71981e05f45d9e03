package searchrevenue;

import java.nio.ByteOrder;
import org.apache.spark.unsafe.Platform;

/** Finding one byte value eight bytes at a time in a byte array (most bytes are not the one). */
final class ByteWords {
    private static final long LOW_SEVEN = 0x7F7F7F7F7F7F7F7FL;
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private ByteWords() {}

    /** The byte repeated in all eight bytes of a word, for {@link #matches}. */
    static long repeated(byte value) {
        return (value & 0xFFL) * 0x0101010101010101L;
    }

    /** The eight bytes of bytes[at, at + 8) as one word. */
    static long word(byte[] bytes, int at) {
        return Platform.getLong(bytes, Platform.BYTE_ARRAY_OFFSET + at);
    }

    /**
     * The high bit of each byte of word that equals the byte repeated in pattern, exactly: no
     * carry between bytes (the common "has zero byte" trick flags a 0x01 above a match).
     */
    static long matches(long word, long pattern) {
        long x = word ^ pattern;
        long y = (x & LOW_SEVEN) + LOW_SEVEN;
        return ~(y | x | LOW_SEVEN);
    }

    /** The offset within the word of the first (lowest-addressed) flagged byte; matches != 0. */
    static int first(long matches) {
        return (LITTLE_ENDIAN ? Long.numberOfTrailingZeros(matches) : Long.numberOfLeadingZeros(matches)) / 8;
    }

    /** matches without its first flagged byte. */
    static long withoutFirst(long matches) {
        return LITTLE_ENDIAN ? matches & (matches - 1) : matches & ~(Long.MIN_VALUE >>> Long.numberOfLeadingZeros(matches));
    }

    /** The index of the first byte equal to value in bytes[from, to), or -1. */
    static int indexOf(byte[] bytes, byte value, int from, int to) {
        long pattern = repeated(value);
        int i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long found = matches(word(bytes, i), pattern);
            if (found != 0) {
                return i + first(found);
            }
        }
        for (; i < to; i++) {
            if (bytes[i] == value) {
                return i;
            }
        }
        return -1;
    }
}

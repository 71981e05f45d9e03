package searchrevenue;

import java.nio.ByteOrder;
import org.apache.spark.unsafe.Platform;

/** Where each tab-separated field of a line starts and ends, found in one scan (R1). */
final class LineFields {
    private static final long TABS = 0x0909090909090909L;
    private static final long LOW_SEVEN = 0x7F7F7F7F7F7F7F7FL;
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    private final int[] starts;
    private int count;
    private int length;

    /** Locates fields 0..lastIndex; count() still counts them all. */
    LineFields(int lastIndex) {
        starts = new int[lastIndex + 2];
    }

    LineFields read(byte[] line, int length) {
        count = 1;
        this.length = length;
        int i = 0;
        // Eight bytes at a time: most of a line holds no tab.
        for (; i + Long.BYTES <= length; i += Long.BYTES) {
            long tabs = tabBytes(Platform.getLong(line, Platform.BYTE_ARRAY_OFFSET + i));
            while (tabs != 0) {
                int bit = LITTLE_ENDIAN ? Long.numberOfTrailingZeros(tabs) : Long.numberOfLeadingZeros(tabs);
                tab(i + bit / 8);
                tabs &= LITTLE_ENDIAN ? tabs - 1 : ~(Long.MIN_VALUE >>> Long.numberOfLeadingZeros(tabs));
            }
        }
        for (; i < length; i++) {
            if (line[i] == HitLineBytes.TAB) {
                tab(i);
            }
        }
        return this;
    }

    /** The high bit of each byte of word that is a tab, exactly (no carry between bytes). */
    static long tabBytes(long word) {
        long x = word ^ TABS;
        long y = (x & LOW_SEVEN) + LOW_SEVEN;
        return ~(y | x | LOW_SEVEN);
    }

    private void tab(int at) {
        if (count < starts.length) {
            starts[count] = at + 1;
        }
        count++;
    }

    int count() {
        return count;
    }

    /** Only for index < count() and index within the located fields. */
    int start(int index) {
        return starts[index];
    }

    int end(int index) {
        return index + 1 < count && index + 1 < starts.length ? starts[index + 1] - 1 : length;
    }
}

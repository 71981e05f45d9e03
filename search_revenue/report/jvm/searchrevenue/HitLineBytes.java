package searchrevenue;

/**
 * Byte-level reading of one hit line (R1): bytes found, and text as Python decodes it.
 *
 * Every test here works on the raw bytes. Java's own UTF-8 decoder replaces invalid bytes
 * differently from Python's, and the stream engine (Python) is the reference.
 */
final class HitLineBytes {
    static final byte TAB = '\t';
    private static final long HIGH_BITS = 0x8080808080808080L;
    private static final byte[] REPLACEMENT = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};

    private HitLineBytes() {}

    static int indexOf(byte[] bytes, byte wanted, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] == wanted) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Append bytes[from, to) to out as Python's {@code decode("utf-8", errors="replace")} reads
     * them, encoded again: each maximal subpart of an ill-formed sequence becomes one U+FFFD
     * (Unicode table 3-7; Java 17 differs, e.g. on the encoded surrogate ED A0 80). Well-formed
     * runs are copied whole.
     */
    static void appendPythonReplaced(VisitorKeyBytes out, byte[] bytes, int from, int to) {
        int run = from;
        int i = from;
        while (i < to) {
            if (i + Long.BYTES <= to && (ByteWords.word(bytes, i) & HIGH_BITS) == 0) {
                i += Long.BYTES;  // eight ASCII bytes
                continue;
            }
            int lead = bytes[i] & 0xFF;
            if (lead < 0x80) {
                i++;
                continue;
            }
            int length;
            int low = 0x80;
            int high = 0xBF;
            if (lead >= 0xC2 && lead <= 0xDF) {
                length = 2;
            } else if (lead >= 0xE0 && lead <= 0xEF) {
                length = 3;
                if (lead == 0xE0) {
                    low = 0xA0;
                } else if (lead == 0xED) {
                    high = 0x9F;
                }
            } else if (lead >= 0xF0 && lead <= 0xF4) {
                length = 4;
                if (lead == 0xF0) {
                    low = 0x90;
                } else if (lead == 0xF4) {
                    high = 0x8F;
                }
            } else {
                length = 0;  // never starts a well-formed sequence
            }
            int taken = 1;
            while (taken < length && i + taken < to) {
                int next = bytes[i + taken] & 0xFF;
                if (next < low || next > high) {
                    break;
                }
                taken++;
                low = 0x80;
                high = 0xBF;
            }
            if (taken != length) {
                out.append(bytes, run, i - run);
                out.append(REPLACEMENT, 0, REPLACEMENT.length);
                run = i + taken;
            }
            i += taken;
        }
        out.append(bytes, run, to - run);
    }
}

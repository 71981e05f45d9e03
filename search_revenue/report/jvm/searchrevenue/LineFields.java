package searchrevenue;

/**
 * Where each tab-separated field of a line starts and ends (R1), found eight bytes at a time,
 * either in one scan of the whole line or in two: the fields up to one index first, the rest
 * only for a line that is not passed over on those.
 */
final class LineFields {
    private static final long TABS = ByteWords.repeated(HitLineBytes.TAB);
    private final int[] starts;
    private byte[] line;
    private int count;
    private int end;
    private int next;  // where the scan goes on

    /** Locates fields 0..lastIndex; count() still counts them all once the line is read whole. */
    LineFields(int lastIndex) {
        starts = new int[lastIndex + 2];
    }

    /** Locate the fields of the line in line[from, to). */
    LineFields read(byte[] line, int from, int to) {
        begin(line, from, to);
        scan(Integer.MAX_VALUE);
        return this;
    }

    /**
     * Locate the fields of the line in line[from, to) up to field index at least, and say whether
     * the line has that many fields; {@link #readRest} locates the others.
     */
    boolean readThrough(byte[] line, int from, int to, int index) {
        begin(line, from, to);
        scan(index + 1);
        return count > index;
    }

    /** After readThrough: locate the line's remaining fields. */
    void readRest() {
        scan(Integer.MAX_VALUE);
    }

    private void begin(byte[] line, int from, int to) {
        this.line = line;
        count = 1;
        starts[0] = from;
        end = to;
        next = from;
    }

    /** Scan on until more than tabs tabs are found (after the word holding the last) or the line ends. */
    private void scan(int tabs) {
        int i = next;
        // Eight bytes at a time: most of a line holds no tab.
        for (; i + Long.BYTES <= end; i += Long.BYTES) {
            if (count > tabs) {
                next = i;
                return;
            }
            long found = ByteWords.matches(ByteWords.word(line, i), TABS);
            while (found != 0) {
                tab(i + ByteWords.first(found));
                found = ByteWords.withoutFirst(found);
            }
        }
        if (count > tabs) {
            next = i;
            return;
        }
        for (; i < end; i++) {
            if (line[i] == HitLineBytes.TAB) {
                tab(i);
            }
        }
        next = end;
    }

    private void tab(int at) {
        if (count < starts.length) {
            starts[count] = at + 1;
        }
        count++;
    }

    /** The number of fields located so far: all of them after read or readRest. */
    int count() {
        return count;
    }

    /** Only for index < count() and index within the located fields. */
    int start(int index) {
        return starts[index];
    }

    int end(int index) {
        return index + 1 < count && index + 1 < starts.length ? starts[index + 1] - 1 : end;
    }
}

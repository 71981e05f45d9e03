package searchrevenue;

/** Where each tab-separated field of a line starts and ends, found in one scan (R1). */
final class LineFields {
    private static final long TABS = ByteWords.repeated(HitLineBytes.TAB);
    private final int[] starts;
    private int count;
    private int end;

    /** Locates fields 0..lastIndex; count() still counts them all. */
    LineFields(int lastIndex) {
        starts = new int[lastIndex + 2];
    }

    /** Locate the fields of the line in line[from, to). */
    LineFields read(byte[] line, int from, int to) {
        count = 1;
        starts[0] = from;
        end = to;
        int i = from;
        // Eight bytes at a time: most of a line holds no tab.
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long tabs = ByteWords.matches(ByteWords.word(line, i), TABS);
            while (tabs != 0) {
                tab(i + ByteWords.first(tabs));
                tabs = ByteWords.withoutFirst(tabs);
            }
        }
        for (; i < to; i++) {
            if (line[i] == HitLineBytes.TAB) {
                tab(i);
            }
        }
        return this;
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
        return index + 1 < count && index + 1 < starts.length ? starts[index + 1] - 1 : end;
    }
}

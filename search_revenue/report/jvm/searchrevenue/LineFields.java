package searchrevenue;

/** Where each tab-separated field of a line starts and ends, found in one scan (R1). */
final class LineFields {
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
        for (int i = 0; i < length; i++) {
            if (line[i] == HitLineBytes.TAB) {
                if (count < starts.length) {
                    starts[count] = i + 1;
                }
                count++;
            }
        }
        return this;
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

package searchrevenue;

/**
 * A set of non-zero longs in one open-addressing table: no boxing for millions of visitor hashes.
 * The table is a plain long[], so a broadcast of it needs no class of this jar to be read (in
 * local mode the driver's copy, from another class loader, is handed to the tasks as it is).
 */
final class LongSet {
    private static final long EMPTY = 0L;
    private long[] slots;
    private int size;

    LongSet() {
        slots = new long[1 << 10];
    }

    /** A view of a table another set filled (see {@link #table}); never added to. */
    LongSet(long[] table) {
        slots = table;
        size = -1;
    }

    boolean add(long value) {
        if (value == EMPTY || size < 0) {
            throw new IllegalArgumentException("only a set of its own takes values, and never 0");
        }
        if (2 * (size + 1) > slots.length) {
            grow();
        }
        int mask = slots.length - 1;
        for (int i = slot(value, mask); ; i = (i + 1) & mask) {
            if (slots[i] == value) {
                return false;
            }
            if (slots[i] == EMPTY) {
                slots[i] = value;
                size++;
                return true;
            }
        }
    }

    boolean contains(long value) {
        int mask = slots.length - 1;
        for (int i = slot(value, mask); ; i = (i + 1) & mask) {
            if (slots[i] == value) {
                return value != EMPTY;
            }
            if (slots[i] == EMPTY) {
                return false;
            }
        }
    }

    long[] table() {
        return slots;
    }

    long[] toArray() {
        long[] values = new long[size];
        int n = 0;
        for (long slot : slots) {
            if (slot != EMPTY) {
                values[n++] = slot;
            }
        }
        return values;
    }

    private static int slot(long value, int mask) {
        long mixed = value * 0x9E3779B97F4A7C15L;
        return (int) (mixed >>> 32) & mask;
    }

    private void grow() {
        long[] old = slots;
        slots = new long[old.length * 2];
        size = 0;
        for (long value : old) {
            if (value != EMPTY) {
                add(value);
            }
        }
    }
}

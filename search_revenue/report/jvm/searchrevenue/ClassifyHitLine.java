package searchrevenue;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * The per-row tests that ASCII bytes decide, on a field's bytes located by {@link LineFields}:
 * hit time (R2), purchase (R5) and the search pre-test (R4).
 *
 * <p>Each test mirrors a Python rule (hit_rows.is_hit_time, purchases.is_purchase, the pre-test
 * of referrers.parse_search_referrer), takes that rule's constants from Python through the
 * constructor, and is checked against it by the tests through both passes.
 */
public final class ClassifyHitLine implements Serializable {
    private static final long serialVersionUID = 1L;
    // The labels by their first byte: a host byte that starts no label is passed over at once.
    private final byte[][][] labelsStartingWith = new byte[128][][];
    private final boolean hasEmptyLabel;
    private final int maxHitTimeDigits;
    private final byte[] purchaseEvent;
    private final byte eventSeparator;
    private final boolean[] isFieldWhitespace = new boolean[128];

    /**
     * engineLabels: the engines' lower-case ASCII labels
     * (RuleSettings checks them); the rest are hit_rows.MAX_HIT_TIME_DIGITS and
     * purchases.PURCHASE_EVENT, EVENT_SEPARATOR and FIELD_WHITESPACE, all ASCII.
     */
    public ClassifyHitLine(
            String[] engineLabels,
            int maxHitTimeDigits, String purchaseEvent, String eventSeparator, String fieldWhitespace) {
        boolean empty = false;
        for (String text : engineLabels) {
            byte[] label = ascii(text.toLowerCase(Locale.ROOT));
            if (label.length == 0) {
                empty = true;
                continue;
            }
            byte[][] same = labelsStartingWith[label[0]];
            byte[][] grown = same == null ? new byte[1][] : Arrays.copyOf(same, same.length + 1);
            grown[grown.length - 1] = label;
            labelsStartingWith[label[0]] = grown;
        }
        this.hasEmptyLabel = empty;
        this.maxHitTimeDigits = maxHitTimeDigits;
        this.purchaseEvent = ascii(purchaseEvent);
        byte[] separator = ascii(eventSeparator);
        if (separator.length != 1) {
            throw new IllegalArgumentException("the event separator must be one character");
        }
        this.eventSeparator = separator[0];
        for (byte b : ascii(fieldWhitespace)) {
            this.isFieldWhitespace[b] = true;
        }
    }

    private static byte[] ascii(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= 0x80) {
                throw new IllegalArgumentException("not ASCII: " + text);
            }
        }
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /** hit_rows.is_hit_time and its value: ASCII digits only, at most maxHitTimeDigits after
     * leading zeros; -1 when the field is not a hit time. */
    long hitTime(byte[] line, int start, int end) {
        if (end == start) {
            return -1;
        }
        if (end - start <= maxHitTimeDigits && line[start] != '0') {
            // No leading zero: every digit is significant, and there are few enough.
            long value = 0;
            for (int i = start; i < end; i++) {
                int digit = line[i] - '0';
                if (digit < 0 || digit > 9) {
                    return -1;
                }
                value = value * 10 + digit;
            }
            return value;
        }
        long value = 0;
        int significant = 0;
        for (int i = start; i < end; i++) {
            int digit = line[i] - '0';
            if (digit < 0 || digit > 9) {
                return -1;
            }
            if (significant > 0 || digit != 0) {
                significant++;
                if (significant > maxHitTimeDigits) {
                    return -1;
                }
                value = value * 10 + digit;
            }
        }
        return value;
    }

    /** purchases.is_purchase: an item equal to the purchase event between separators, once trimmed. */
    boolean isPurchase(byte[] line, int start, int end) {
        int itemStart = start;
        while (itemStart <= end) {
            int comma = HitLineBytes.indexOf(line, eventSeparator, itemStart, end);
            int itemEnd = comma < 0 ? end : comma;
            int from = itemStart;
            int to = itemEnd;
            while (from < to && isFieldWhitespace(line[from])) {
                from++;
            }
            while (to > from && isFieldWhitespace(line[to - 1])) {
                to--;
            }
            if (to - from == purchaseEvent.length && regionEquals(line, from, purchaseEvent)) {
                return true;
            }
            if (comma < 0) {
                break;
            }
            itemStart = comma + 1;
        }
        return false;
    }

    /**
     * A cheap superset of the referrers that parse_search_referrer accepts: a "?" and an engine
     * label in the text up to the third "/" (an http(s) URL's host lies within), compared
     * ASCII-case-insensitively with CRs ignored (urlsplit drops them). Any non-ASCII byte there
     * passes, since Python's Unicode lower-casing can turn it into ASCII letters.
     */
    boolean couldBeSearch(byte[] line, int start, int end) {
        if (HitLineBytes.indexOf(line, (byte) '?', start, end) < 0) {
            return false;
        }
        int hostEnd = start;
        int slashes = 0;
        while (hostEnd < end) {
            if (line[hostEnd] == '/' && ++slashes == 3) {
                break;
            }
            hostEnd++;
        }
        byte[] host = new byte[hostEnd - start];
        int length = 0;
        for (int i = start; i < hostEnd; i++) {
            byte b = line[i];
            if (b < 0) {
                return true;
            }
            if (b != '\r') {
                host[length++] = (b >= 'A' && b <= 'Z') ? (byte) (b + ('a' - 'A')) : b;
            }
        }
        if (hasEmptyLabel) {
            return true;
        }
        for (int i = 0; i < length; i++) {
            byte[][] labels = labelsStartingWith[host[i]];
            if (labels == null) {
                continue;
            }
            for (byte[] label : labels) {
                if (i + label.length <= length && regionEquals(host, i, label)) {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean isFieldWhitespace(byte b) {
        return b >= 0 && isFieldWhitespace[b];
    }

    private static boolean regionEquals(byte[] bytes, int from, byte[] part) {
        for (int j = 0; j < part.length; j++) {
            if (bytes[from + j] != part[j]) {
                return false;
            }
        }
        return true;
    }
}

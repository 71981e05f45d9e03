package searchrevenue;

import java.nio.ByteBuffer;

/** Visitor hashes packed as big-endian 8-byte values into one binary value. */
final class VisitorHashes {
    private VisitorHashes() {}

    static byte[] pack(long[] hashes) {
        ByteBuffer buffer = ByteBuffer.allocate(hashes.length * Long.BYTES);
        for (long hash : hashes) {
            buffer.putLong(hash);
        }
        return buffer.array();
    }

    static void unpackInto(byte[] packed, LongSet hashes) {
        ByteBuffer buffer = ByteBuffer.wrap(packed);
        while (buffer.remaining() >= Long.BYTES) {
            hashes.add(buffer.getLong());
        }
    }
}

import Foundation

// Every number in a PeerTalk header and in the bulk headers of §5.2 is big-endian.
// These helpers read and write them in `Data` without assuming that a Data starts at
// index 0: a Data that is a slice of another keeps its parent's indices.

/// Big-endian loads and stores on `Data` (internal to the wire layer).
enum WireBytes {
    /// The big-endian integer of `T`'s size at `offset` bytes from the start of `data`.
    /// The caller has checked that those bytes exist.
    static func load<T: FixedWidthInteger>(_: T.Type, from data: Data, at offset: Int) -> T {
        var value: T = 0
        let start = data.startIndex + offset
        for byte in data[start..<start + MemoryLayout<T>.size] {
            value = (value << 8) | T(byte)
        }
        return value
    }

    /// Appends `value` to `data`, big-endian.
    static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.bigEndian) { data.append(contentsOf: $0) }
    }
}

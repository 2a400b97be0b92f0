import Foundation

/// Splits a byte stream into PeerTalk frames, whatever pieces the bytes arrive in.
///
/// Feed it what each socket read returns, then take the frames out until there are no
/// more:
///
/// ```swift
/// var reader = FrameReader()
/// while let bytes = try await connection.receive() {
///     reader.append(bytes)
///     while let frame = try reader.next() { handle(frame) }
/// }
/// try reader.finish()
/// ```
///
/// **Bounded.** The reader holds the frame it is assembling (header and payload so far)
/// and the bytes appended but not yet looked at by `next()`. Once `next()` has returned
/// `nil`, every appended byte is in that one frame: at most ``Frame/headerSize`` plus
/// ``maxPayloadSize`` bytes. A header announcing more is refused as soon as its 16 bytes
/// are there, before any of its payload is kept, and a payload grows only as its bytes
/// arrive, so a header that announces 16 MiB costs nothing until they come.
///
/// **Errors are final.** A header with a version other than 1, or with a payload over
/// the bound, makes `next()` throw a ``WireError`` (after the frames before it were
/// returned), and throw it again on every later call: the stream cannot be framed any
/// more, so close the channel. Later appends are dropped.
///
/// **End of stream.** A frame of type 0 is returned like any other; then the stream is
/// over, as for `PTChannel`: ``hasEnded`` becomes true and later bytes are ignored.
public struct FrameReader: Sendable {
    /// The largest payload this reader takes.
    public let maxPayloadSize: Int

    // Appended bytes not yet looked at: pieces as they were appended (no copy). The
    // next byte is at `pendingOffset` (from its startIndex) in `pending[pendingHead]`;
    // pieces before the head are used up and go when the last one is.
    private var pending: [Data] = []
    private var pendingHead = 0
    private var pendingOffset = 0
    private var pendingCount = 0

    // The frame being assembled.
    private var header = Data()
    private var payloadSize = 0
    private var payload = Data()
    private var payloadReserved = 0
    private var haveHeader = false

    private var error: WireError?
    /// Whether a frame of type 0 (end of stream) was returned: later bytes are ignored.
    public private(set) var hasEnded = false

    // Grow a payload in steps of this much, so memory follows the bytes that arrived,
    // not the size a header announced.
    private static let reserveStep = 256 << 10

    /// A reader that takes payloads of at most `maxPayloadSize` bytes (16 MiB, §8, unless
    /// a test wants a smaller bound). `maxPayloadSize` is at most `UInt32.max`.
    public init(maxPayloadSize: Int = Frame.maxPayloadSize) {
        precondition(maxPayloadSize >= 0 && maxPayloadSize <= Int(UInt32.max))
        self.maxPayloadSize = maxPayloadSize
    }

    /// Bytes held: the frame being assembled plus appended bytes not yet looked at.
    /// After `next()` has returned `nil` this is at most 16 + ``maxPayloadSize``.
    public var bufferedByteCount: Int {
        (haveHeader ? Frame.headerSize + payload.count : header.count) + pendingCount
    }

    /// Whether the reader holds no part of a frame: the stream may end here without
    /// loss. (Appended bytes not yet looked at count as a part.)
    public var isAtFrameBoundary: Bool { bufferedByteCount == 0 }

    /// Adds bytes read from the stream. Nothing is checked yet: `next()` does that.
    /// Bytes appended after an error or after the end of stream are dropped.
    public mutating func append(_ bytes: Data) {
        guard error == nil, !hasEnded, !bytes.isEmpty else { return }
        pending.append(bytes)
        pendingCount += bytes.count
    }

    /// The next whole frame, or `nil` when the bytes appended so far hold no more.
    ///
    /// - Throws: ``WireError`` of kind `.badVersion` or `.payloadTooLarge` when the stream
    ///   cannot be framed; the same error again on every later call.
    public mutating func next() throws -> Frame? {
        if let error { throw error }
        while !hasEnded {
            if !haveHeader {
                // Moved out while filled (take() mutates self too); no copy is made.
                var h = header
                header = Data()
                take(into: &h, upTo: Frame.headerSize)
                header = h
                if header.count < Frame.headerSize { return nil }
                try startFrame()
            }
            if payload.count < payloadSize {
                if payload.isEmpty, let whole = takeWhole(payloadSize) {
                    payload = whole
                } else {
                    // Room grows with the bytes that came (doubling, from 256 KiB), and
                    // never past the announced size.
                    let wanted = min(payloadSize, payload.count + pendingCount)
                    if wanted > payloadReserved {
                        payloadReserved = min(payloadSize, max(wanted, payloadReserved * 2, FrameReader.reserveStep))
                        payload.reserveCapacity(payloadReserved)
                    }
                    var p = payload
                    payload = Data()
                    take(into: &p, upTo: payloadSize)
                    payload = p
                }
                if payload.count < payloadSize { return nil }
            }
            let frame = Frame(type: WireBytes.load(UInt32.self, from: header, at: 4),
                              tag: WireBytes.load(UInt32.self, from: header, at: 8),
                              payload: payload)
            header = Data()
            payload = Data()
            payloadReserved = 0
            haveHeader = false
            payloadSize = 0
            if frame.type == Frame.endOfStreamType {
                hasEnded = true
                dropPending()
            }
            return frame
        }
        return nil
    }

    /// Says that the stream reached its end (EOF). Call it once `next()` has returned `nil`.
    ///
    /// - Throws: ``WireError`` of kind `.truncated` when the stream stopped inside a
    ///   frame; the reader's error when it had one.
    public func finish() throws {
        if let error { throw error }
        if hasEnded { return }
        if pendingCount > 0 {
            throw WireError(.truncated, "stream ended with \(pendingCount) bytes not yet read with next()")
        }
        if haveHeader {
            throw WireError(.truncated, "stream ended after \(payload.count) of \(payloadSize) payload bytes of a PeerTalk frame of type \(WireBytes.load(UInt32.self, from: header, at: 4))")
        }
        if !header.isEmpty {
            throw WireError(.truncated, "stream ended after \(header.count) of the 16 bytes of a PeerTalk frame header")
        }
    }

    // MARK: - Inside

    /// Checks the complete header and sets up the payload.
    private mutating func startFrame() throws {
        let version = WireBytes.load(UInt32.self, from: header, at: 0)
        let type = WireBytes.load(UInt32.self, from: header, at: 4)
        let size = WireBytes.load(UInt32.self, from: header, at: 12)
        if version != Frame.version {
            try fail(WireError(.badVersion, "PeerTalk frame header has version \(version), expected 1 (is the peer speaking PeerTalk?)"))
        }
        if UInt64(size) > UInt64(maxPayloadSize) {
            try fail(WireError(.payloadTooLarge, "PeerTalk frame of type \(type) announces \(size) payload bytes, more than the limit of \(maxPayloadSize)"))
        }
        haveHeader = true
        payloadSize = Int(size)
        payload = Data()
        payloadReserved = 0
    }

    /// Keeps the error, drops everything held, and throws.
    private mutating func fail(_ e: WireError) throws -> Never {
        error = e
        header = Data()
        payload = Data()
        payloadReserved = 0
        haveHeader = false
        dropPending()
        throw e
    }

    private mutating func dropPending() {
        pending = []
        pendingHead = 0
        pendingOffset = 0
        pendingCount = 0
    }

    /// Moves pending bytes into `buffer` until it holds `limit` bytes or nothing is pending.
    private mutating func take(into buffer: inout Data, upTo limit: Int) {
        while buffer.count < limit, pendingHead < pending.count {
            let first = pending[pendingHead]
            let start = first.startIndex + pendingOffset
            let n = min(limit - buffer.count, first.endIndex - start)
            buffer.append(first[start..<start + n])
            consume(n)
        }
    }

    /// The next `count` pending bytes as one Data starting at index 0, when the first
    /// pending piece holds them all: one copy instead of appending piece by piece.
    private mutating func takeWhole(_ count: Int) -> Data? {
        guard pendingHead < pending.count else { return nil }
        let first = pending[pendingHead]
        let start = first.startIndex + pendingOffset
        guard first.endIndex - start >= count else { return nil }
        let out = first.subdata(in: start..<start + count)
        consume(count)
        return out
    }

    /// Drops `n` bytes from the front of the first pending piece.
    private mutating func consume(_ n: Int) {
        pendingOffset += n
        pendingCount -= n
        if pending[pendingHead].startIndex + pendingOffset == pending[pendingHead].endIndex {
            pendingHead += 1
            pendingOffset = 0
            if pendingHead == pending.count {
                pending.removeAll(keepingCapacity: true)
                pendingHead = 0
            }
        }
    }
}

import Foundation

/// One PeerTalk frame (PROTOCOL.md §2): a 16-byte header of four big-endian `UInt32`
/// fields (version, type, tag, payload size), then the payload.
///
/// The format is PeerTalk's `PTProtocol`, unchanged, so an app using `PTChannel` and one
/// using a plain socket with this type speak the same bytes.
public struct Frame: Sendable, Equatable {
    /// Bytes in a frame header.
    public static let headerSize = 16
    /// The only header version there is (`PTProtocolVersion1`). Any other value ends the channel.
    public static let version: UInt32 = 1
    /// The largest payload a reader takes: 16 MiB (§8). PeerTalk itself sets no bound;
    /// this one keeps a broken or hostile peer from making us hold more than that.
    public static let maxPayloadSize = 16 << 20
    /// Frame type 0: PeerTalk's end of stream (`PTFrameTypeEndOfStream`). It carries no message.
    public static let endOfStreamType: UInt32 = 0
    /// Tag 0 (`PTFrameNoTag`): events, `hello` and `live_view_ack` carry it.
    public static let noTag: UInt32 = 0

    /// The frame type: a ``FrameType`` raw value for the camera protocol.
    public var type: UInt32
    /// Request/reply correlation (§3): a request's reply carries the request's tag; events carry 0.
    public var tag: UInt32
    /// The bytes after the header.
    public var payload: Data

    /// A frame of `type` with `tag` and `payload`.
    public init(type: UInt32, tag: UInt32 = Frame.noTag, payload: Data = Data()) {
        self.type = type
        self.tag = tag
        self.payload = payload
    }

    /// The 16 header bytes for a payload of `payloadSize` bytes, for a writer that sends
    /// the payload from its own buffer (a JPEG, a piece of a file) without copying it.
    public static func header(type: UInt32, tag: UInt32, payloadSize: UInt32) -> Data {
        var out = Data(capacity: headerSize)
        WireBytes.append(version, to: &out)
        WireBytes.append(type, to: &out)
        WireBytes.append(tag, to: &out)
        WireBytes.append(payloadSize, to: &out)
        return out
    }

    /// The whole frame as it goes on the wire: header, then payload.
    ///
    /// The payload must be shorter than 4 GiB, the most a header can announce (a
    /// precondition; the camera protocol's frames stay far below, see ``maxPayloadSize``).
    public func encode() -> Data {
        precondition(payload.count <= Int(UInt32.max), "a PeerTalk payload must be shorter than 4 GiB")
        var out = Frame.header(type: type, tag: tag, payloadSize: UInt32(payload.count))
        out.reserveCapacity(Frame.headerSize + payload.count)
        out.append(payload)
        return out
    }
}

import Foundation

/// The camera protocol's version and bounds (PROTOCOL.md §8), the same numbers as
/// `proto/camera/messages.hpp`. Lengths are bytes of UTF-8, lists count entries.
///
/// Decoding rejects a message that breaks one of them; a controller can use them to
/// limit what a user types.
public enum WireLimits {
    /// The protocol version this code speaks (`hello.Version`).
    public static let protocolVersion: UInt32 = 1

    /// A control payload (binary plist): 1 MiB.
    public static let maxPlistPayload = 1 << 20
    /// `hello.Name`.
    public static let maxHelloName = 64
    /// `hello.Capabilities` entries.
    public static let maxCapabilities = 32
    /// One capability (and at least 1 byte).
    public static let maxCapability = 32
    /// A property name (1 to 32 bytes of `a-z`, `0-9` and `_`).
    public static let maxPropertyName = 32
    /// A property value, each allowed value, `Requested`, `Applied`, `set_property.Value`.
    public static let maxValue = 64
    /// `Allowed` entries.
    public static let maxAllowed = 256
    /// `Properties` entries.
    public static let maxProperties = 64
    /// `error.Message`, `camera_lost.Reason`.
    public static let maxMessage = 1024
    /// `capture_done.FileName` (and at least 1 byte).
    public static let maxFileName = 255
    /// `capture_done.MimeType` (and at least 1 byte).
    public static let maxMimeType = 127
    /// `camera_attached.Model` and `.Serial`.
    public static let maxModel = 128
    /// A file size, total size or offset: 4 GiB (2³² bytes).
    public static let maxFileSize: UInt64 = 1 << 32
    /// A live-view JPEG: 8 MiB.
    public static let maxJPEG = 8 << 20
    /// The data of one image chunk: 1 MiB.
    public static let maxChunk = 1 << 20
    /// `start_live_view.MaxInFlight` (and at least 1).
    public static let maxInFlight = 16
    /// The numbers of `live_view_stats`: 0 to 10⁹.
    public static let maxStatistic: Double = 1e9
    /// Bytes of the `live_view_frame` header.
    public static let liveViewHeaderSize = 16
    /// Bytes of the `image_chunk` header.
    public static let imageChunkHeaderSize = 20
}

/// Whether live-view sequence `a` comes after `b`, as RFC 1982 serial numbers (§6.2):
/// sequences are 32-bit and wrap from 4294967295 to 0, so `a` is newer when
/// `Int32(bitPattern: a &- b) > 0`. Frame 0 is newer than frame 4294967295.
public func isNewer(_ a: UInt32, than b: UInt32) -> Bool {
    Int32(bitPattern: a &- b) > 0
}

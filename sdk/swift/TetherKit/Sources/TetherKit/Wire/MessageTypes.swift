import Foundation

// The values that messages carry (PROTOCOL.md §6). They are plain data: the codec checks
// them against the bounds of §8 when it decodes, and `CameraCodec.validate` does so
// before a send.

/// A `hello` (§3, §6): the first frame each side sends, with tag 0.
public struct Hello: Sendable, Equatable {
    /// Which side says hello.
    public enum Role: String, Sendable, CaseIterable {
        case camera
        case controller
    }

    /// The capabilities tether-camera lists (§6), in its order. A `hello` may carry
    /// others: unknown entries are ignored.
    public enum Capability: String, Sendable, CaseIterable {
        /// `start_live_view`, `stop_live_view` and `live_view_frame`.
        case liveView = "live_view"
        /// The camera honours `MaxInFlight` and `live_view_ack` (§6.2).
        case liveViewAck = "live_view_ack"
        /// `capture` and `capture_done`.
        case capture
        /// `download` and `image_chunk`.
        case download
        /// `autofocus`.
        case autofocus
        /// `focus_step`.
        case focusStep = "focus_step"
        /// `get_properties` and `set_property`.
        case properties
    }

    /// The protocol version the sender speaks (`Version`, at least 1). The session speaks
    /// the lower of the two.
    public var version: UInt32
    /// `Role`.
    public var role: Role
    /// `Name`, at most 64 bytes, may be empty. tether-camera puts the camera's model here.
    public var name: String
    /// `Capabilities`: at most 32 entries of 1 to 32 bytes.
    public var capabilities: [String]

    /// A hello; `version` is this protocol's (1) unless told otherwise.
    public init(version: UInt32 = WireLimits.protocolVersion, role: Role, name: String,
                capabilities: [String] = []) {
        self.version = version
        self.role = role
        self.name = name
        self.capabilities = capabilities
    }

    /// Whether `capabilities` lists `capability`.
    public func has(_ capability: Capability) -> Bool {
        capabilities.contains(capability.rawValue)
    }
}

/// A camera property (§6.1): a `properties` entry, or the keys of `property_changed`.
public struct Property: Sendable, Equatable {
    /// `Name`: 1 to 32 characters of `a-z`, `0-9` and `_` (`iso`, `shutter_speed`).
    public var name: String
    /// `Value`: the current value, at most 64 bytes.
    public var value: String
    /// `Allowed`: the values `set_property` takes now, at most 256 of at most 64 bytes.
    /// Empty: any value of the property's format, or none when it is not writable.
    public var allowed: [String]
    /// `Writable` (default true).
    public var writable: Bool

    /// A property.
    public init(name: String, value: String, allowed: [String] = [], writable: Bool = true) {
        self.name = name
        self.value = value
        self.allowed = allowed
        self.writable = writable
    }
}

/// `property_set` (§6.1): the reply to `set_property`. The camera may round a value or
/// refuse it without an error, so show ``applied``.
public struct PropertySet: Sendable, Equatable {
    /// `Name`.
    public var name: String
    /// `Requested`: the value asked for.
    public var requested: String
    /// `Applied`: the value the camera reports after the set, read back from it.
    public var applied: String

    /// A `property_set` reply.
    public init(name: String, requested: String, applied: String) {
        self.name = name
        self.requested = requested
        self.applied = applied
    }
}

/// `focus_step`'s `Direction`.
public enum FocusDirection: String, Sendable, CaseIterable {
    case near
    case far
}

/// `focus_step`'s `Size`: the camera's smallest to largest manual-focus step
/// (gphoto2's Near 1/2/3, for example).
public enum FocusStepSize: String, Sendable, CaseIterable {
    case small
    case medium
    case large
}

/// `capture_done` (§6): a capture the camera has ready for `download`.
public struct CaptureDone: Sendable, Equatable {
    /// `TransferID`: 1 to 4294967295; what `download` asks for.
    public var transferID: UInt32
    /// `FileName`: 1 to 255 bytes, no `/` (`IMG_0042.JPG`).
    public var fileName: String
    /// `Size`: the file's size in bytes, at most 4 GiB.
    public var size: UInt64
    /// `MimeType`: 1 to 127 bytes (`image/jpeg`, `image/x-canon-cr3`).
    public var mimeType: String

    /// A `capture_done` event.
    public init(transferID: UInt32, fileName: String, size: UInt64, mimeType: String) {
        self.transferID = transferID
        self.fileName = fileName
        self.size = size
        self.mimeType = mimeType
    }
}

/// `live_view_stats` (§6.2): live view as this controller gets it, over the second that
/// ended. Every number is from 0 to 10⁹.
public struct LiveViewStats: Sendable, Equatable {
    /// `Fps`: frames sent to this controller per second.
    public var fps: Double
    /// `CameraFps`: frames the camera made per second.
    public var cameraFps: Double
    /// `MeanAgeMs`: mean age of the frames, capture to delivery (with acks: to their ack).
    public var meanAgeMs: Double
    /// `MaxAgeMs`: the oldest frame's age.
    public var maxAgeMs: Double
    /// `Delivered`: frames in the window.
    public var delivered: UInt64
    /// `Dropped`: frames replaced by a newer one before they could go.
    public var dropped: UInt64

    /// A `live_view_stats` event.
    public init(fps: Double, cameraFps: Double, meanAgeMs: Double, maxAgeMs: Double,
                delivered: UInt64, dropped: UInt64) {
        self.fps = fps
        self.cameraFps = cameraFps
        self.meanAgeMs = meanAgeMs
        self.maxAgeMs = maxAgeMs
        self.delivered = delivered
        self.dropped = dropped
    }
}

/// `live_view_frame` (§5.2): one live-view JPEG. On the wire: a 16-byte big-endian
/// header (sequence, timestamp, width, height), then the JPEG.
public struct LiveViewFrame: Sendable, Equatable {
    /// The camera's frame number, +1 per frame it makes. A gap is frames this controller
    /// did not get. It wraps at 2³²: compare with ``isNewer(_:than:)``.
    public var sequence: UInt32
    /// Capture time in µs on the camera's clock (monotonic, arbitrary epoch).
    public var timestamp: UInt64
    /// Width in pixels, not 0.
    public var width: UInt16
    /// Height in pixels, not 0.
    public var height: UInt16
    /// The JPEG: starts with `FF D8`, 2 bytes to 8 MiB.
    public var jpeg: Data

    /// A live-view frame.
    public init(sequence: UInt32, timestamp: UInt64, width: UInt16, height: UInt16, jpeg: Data) {
        self.sequence = sequence
        self.timestamp = timestamp
        self.width = width
        self.height = height
        self.jpeg = jpeg
    }
}

/// `image_chunk` (§5.2): a piece of a downloaded file. On the wire: a 20-byte big-endian
/// header (transfer id, offset, total size), then the bytes.
///
/// The chunks of a download come in order, without gaps, from the requested offset to a
/// chunk that ends at ``totalSize`` (``isLast``). An empty file is one empty chunk.
public struct ImageChunk: Sendable, Equatable {
    /// The transfer id from `capture_done`, not 0.
    public var transferID: UInt32
    /// Where ``data`` starts in the file.
    public var offset: UInt64
    /// The file's size, at most 4 GiB.
    public var totalSize: UInt64
    /// The bytes: at most 1 MiB, not empty unless the file is; `offset + count ≤ totalSize`.
    public var data: Data

    /// A chunk.
    public init(transferID: UInt32, offset: UInt64, totalSize: UInt64, data: Data) {
        self.transferID = transferID
        self.offset = offset
        self.totalSize = totalSize
        self.data = data
    }

    /// Whether this chunk ends the download: `offset + count == totalSize`.
    public var isLast: Bool { offset <= totalSize && UInt64(data.count) == totalSize - offset }

    /// The share of the file received once this chunk is: `(offset + count) / totalSize`
    /// (1 for an empty file).
    public var progress: Double {
        totalSize == 0 ? 1 : (Double(offset) + Double(data.count)) / Double(totalSize)
    }
}

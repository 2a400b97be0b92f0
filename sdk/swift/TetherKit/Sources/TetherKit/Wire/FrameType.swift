import Foundation

/// The camera protocol's frame types (PROTOCOL.md §4).
///
/// Types 0 to 99 belong to PeerTalk (0 is its end of stream); ours start at 100. Frames
/// 100 to 124 carry a binary plist dictionary, 130 and 131 a fixed binary header and
/// raw bytes (§5).
public enum FrameType: UInt32, Sendable, CaseIterable {
    /// Both ways, the first frame of a session, tag 0.
    case hello = 100
    /// Controller → camera; the reply is `properties`.
    case getProperties = 101
    /// Camera → controller: the reply to `get_properties`.
    case properties = 102
    /// Controller → camera; the reply is `property_set`.
    case setProperty = 103
    /// Camera → controller: the reply to `set_property`, with the value asked for and the one applied.
    case propertySet = 104
    /// Controller → camera; the reply is `ok`, then `capture_done` events.
    case capture = 105
    /// Controller → camera; the reply is `ok` once focus is done.
    case autofocus = 106
    /// Controller → camera: one manual focus step; the reply is `ok`.
    case focusStep = 107
    /// Controller → camera; the reply is `ok`, then `live_view_frame` events.
    case startLiveView = 108
    /// Controller → camera; the reply is `ok`, and no frames come after it.
    case stopLiveView = 109
    /// Controller → camera; the reply is a series of `image_chunk` frames with its tag.
    case download = 110
    /// Camera → controller: the request is done.
    case ok = 111
    /// Camera → controller: a reply (the request's tag) or an event (tag 0).
    case error = 112
    /// Controller → camera, tag 0, no reply: live-view frames up to this one are handled.
    case liveViewAck = 113
    /// Event: a property's value or allowed values changed.
    case propertyChanged = 120
    /// Event: a capture is ready for download.
    case captureDone = 121
    /// Event: a camera appeared after there was none.
    case cameraAttached = 122
    /// Event: the camera went away.
    case cameraLost = 123
    /// Event: once a second while live view runs.
    case liveViewStats = 124
    /// Event: one live-view JPEG, with a 16-byte binary header.
    case liveViewFrame = 130
    /// A piece of a downloaded file, with a 20-byte binary header and the download's tag.
    case imageChunk = 131

    /// The name PROTOCOL.md uses: `"set_property"`.
    public var name: String {
        switch self {
        case .hello: return "hello"
        case .getProperties: return "get_properties"
        case .properties: return "properties"
        case .setProperty: return "set_property"
        case .propertySet: return "property_set"
        case .capture: return "capture"
        case .autofocus: return "autofocus"
        case .focusStep: return "focus_step"
        case .startLiveView: return "start_live_view"
        case .stopLiveView: return "stop_live_view"
        case .download: return "download"
        case .ok: return "ok"
        case .error: return "error"
        case .liveViewAck: return "live_view_ack"
        case .propertyChanged: return "property_changed"
        case .captureDone: return "capture_done"
        case .cameraAttached: return "camera_attached"
        case .cameraLost: return "camera_lost"
        case .liveViewStats: return "live_view_stats"
        case .liveViewFrame: return "live_view_frame"
        case .imageChunk: return "image_chunk"
        }
    }

    /// The name of any frame type, for logs: `"hello"`, `"end_of_stream"` for 0, `"type 150"`.
    public static func name(of type: UInt32) -> String {
        if let known = FrameType(rawValue: type) { return known.name }
        if type == Frame.endOfStreamType { return "end_of_stream" }
        return "type \(type)"
    }

    /// Whether the payload is a fixed binary header and raw bytes (`live_view_frame`,
    /// `image_chunk`) rather than a binary plist.
    public var isBulk: Bool { self == .liveViewFrame || self == .imageChunk }

    /// Whether the controller sends this type (`hello` goes both ways).
    public var isSentByController: Bool {
        switch self {
        case .hello, .getProperties, .setProperty, .capture, .autofocus, .focusStep,
             .startLiveView, .stopLiveView, .download, .liveViewAck:
            return true
        default:
            return false
        }
    }

    /// Whether the camera sends this type (`hello` goes both ways).
    public var isSentByCamera: Bool { self == .hello || !isSentByController }
}

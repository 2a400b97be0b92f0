import Foundation

/// What a controller sends to the camera (PROTOCOL.md §4, §6).
///
/// Requests go with a non-zero tag, new for each (1, 2, 3, ...), and get exactly one
/// reply with that tag (`download`: a series of `image_chunk`s). `hello` and
/// `liveViewAck` go with tag 0 and get no reply.
public enum Request: Sendable, Equatable {
    /// The controller's `hello`, its first frame (tag 0).
    case hello(Hello)
    /// One property by name, or all of them (`nil`); the reply is `properties`.
    case getProperties(name: String? = nil)
    /// Set a property; the reply is `property_set`, then a `property_changed` event.
    case setProperty(name: String, value: String)
    /// Take a picture; the reply is `ok`, then `capture_done` events.
    case capture
    /// Focus; the reply is `ok` once focus is done.
    case autofocus
    /// One manual focus step; the reply is `ok`.
    case focusStep(direction: FocusDirection, size: FocusStepSize)
    /// Start live view; the reply is `ok`, then `live_view_frame` events. With
    /// `maxInFlight` (1 to 16) the camera sends at most that many frames before they are
    /// acknowledged with `liveViewAck`; `nil` for no acknowledgements (§6.2).
    case startLiveView(maxInFlight: Int? = nil)
    /// Stop live view; the reply is `ok`, and no frames come after it.
    case stopLiveView
    /// Download a capture from `offset` (to resume); the reply is `image_chunk` frames.
    case download(transferID: UInt32, offset: UInt64 = 0)
    /// The newest live-view frame the controller is done with (tag 0, no reply). It also
    /// covers every earlier frame.
    case liveViewAck(sequence: UInt32)

    /// The frame type this request goes in.
    public var frameType: FrameType {
        switch self {
        case .hello: return .hello
        case .getProperties: return .getProperties
        case .setProperty: return .setProperty
        case .capture: return .capture
        case .autofocus: return .autofocus
        case .focusStep: return .focusStep
        case .startLiveView: return .startLiveView
        case .stopLiveView: return .stopLiveView
        case .download: return .download
        case .liveViewAck: return .liveViewAck
        }
    }
}

/// What the camera sends to a controller (PROTOCOL.md §4, §6): replies carry the
/// request's tag, events tag 0.
public enum Message: Sendable, Equatable {
    /// The camera's `hello`, its first frame (tag 0). `Name` is the camera's model.
    case hello(Hello)
    /// The reply to `get_properties`.
    case properties([Property])
    /// The reply to `set_property`.
    case propertySet(PropertySet)
    /// The reply that says a request is done.
    case ok
    /// A failed request (its tag), or an event (tag 0).
    case error(CameraProtocolError)
    /// Event: a property's value or allowed values changed, whoever changed them.
    case propertyChanged(Property)
    /// Event: a capture is ready for `download`.
    case captureDone(CaptureDone)
    /// Event: a camera appeared after there was none. `serial` may be empty or absent.
    case cameraAttached(model: String, serial: String?)
    /// Event: the camera went away, with a reason when there is one.
    case cameraLost(reason: String?)
    /// Event: once a second while live view runs.
    case liveViewStats(LiveViewStats)
    /// Event: a live-view frame.
    case liveViewFrame(LiveViewFrame)
    /// A piece of a download (the download's tag).
    case imageChunk(ImageChunk)
    /// A frame of a type a controller does not take: a newer camera's, or a request's.
    /// Ignore it when its tag is 0 (§3).
    case unknown(type: UInt32)

    /// The frame type this message goes in; `nil` for ``unknown(type:)`` of a type not listed.
    public var frameType: FrameType? {
        switch self {
        case .hello: return .hello
        case .properties: return .properties
        case .propertySet: return .propertySet
        case .ok: return .ok
        case .error: return .error
        case .propertyChanged: return .propertyChanged
        case .captureDone: return .captureDone
        case .cameraAttached: return .cameraAttached
        case .cameraLost: return .cameraLost
        case .liveViewStats: return .liveViewStats
        case .liveViewFrame: return .liveViewFrame
        case .imageChunk: return .imageChunk
        case .unknown(let type): return FrameType(rawValue: type)
        }
    }
}

import Foundation

/// Why a TetherKit call failed. Task cancellation is `CancellationError`, as everywhere in
/// Swift concurrency.
public enum TetherError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The camera answered the request with `error`: its code (``ErrorCode``: value not
    /// allowed, camera busy, no camera ...) and its words, to show as they are.
    case camera(CameraProtocolError)
    /// No reply within the request's timeout. The session goes on: a late reply is
    /// dropped.
    case timedOut(request: String, after: Duration)
    /// The board's connection ended (or failed): tether-camera or tetherd stopped, the
    /// phone was unplugged, or this app closed it (`suspend()`, `stop()`). The session is
    /// over; a ``CameraLink`` listens for the next one by itself.
    case sessionEnded(TransportError)
    /// No session: the board has not connected yet, or the link is suspended or stopped.
    case notConnected
    /// A request this side refuses to send: a value over the bounds of PROTOCOL.md §8,
    /// for example a property value longer than 64 bytes.
    case invalidRequest(String)
    /// The camera broke the protocol: a frame that cannot be decoded, a reply of the
    /// wrong kind, chunks out of order, no `hello` first.
    case protocolViolation(String)
    /// The camera's `hello` asks for a version this side cannot speak.
    case unsupportedVersion(UInt32)

    /// The camera's error code, when the camera refused the request.
    public var cameraErrorCode: ErrorCode? {
        if case .camera(let e) = self { return e.code }
        return nil
    }

    public var description: String {
        switch self {
        case .camera(let e): return e.description
        case .timedOut(let request, let after): return "\(request): timed out after \(after)"
        case .sessionEnded(let why): return "the session ended: \(why)"
        case .notConnected: return "the board is not connected"
        case .invalidRequest(let what): return "invalid request: \(what)"
        case .protocolViolation(let what): return "the camera broke the protocol: \(what)"
        case .unsupportedVersion(let v): return "the camera speaks protocol version \(v) only"
        }
    }
}

extension TetherError: LocalizedError {
    public var errorDescription: String? { description }
}

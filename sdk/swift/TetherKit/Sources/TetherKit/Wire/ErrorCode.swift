import Foundation

/// The `Code` of an `error` message (PROTOCOL.md §7).
///
/// A newer camera may send codes this version does not list: they are kept as
/// ``unknown(_:)`` with their number, and shown with the error's `Message` (§3).
public enum ErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// 1: malformed frame (missing or mistyped key, bound exceeded, bad value syntax).
    case badRequest
    /// 2: no such property on this camera.
    case unknownProperty
    /// 3: the value is not in the property's allowed list, or the property is not writable.
    case valueNotAllowed
    /// 4: capturing, focusing or writing; try again.
    case cameraBusy
    /// 5: no camera attached to the board.
    case noCamera
    /// 6: unknown frame type, or the camera cannot do this.
    case notSupported
    /// 7: the camera or the board failed (driver error, I/O).
    case `internal`
    /// 8: `download` of a transfer id the camera does not have (any more).
    case unknownTransfer
    /// 9: `hello` with a version this side cannot speak.
    case unsupportedVersion
    /// A code this version does not know, kept as it came.
    case unknown(UInt32)

    /// The code for `rawValue`: one of the listed cases, or ``unknown(_:)``.
    public init(rawValue: UInt32) {
        switch rawValue {
        case 1: self = .badRequest
        case 2: self = .unknownProperty
        case 3: self = .valueNotAllowed
        case 4: self = .cameraBusy
        case 5: self = .noCamera
        case 6: self = .notSupported
        case 7: self = .internal
        case 8: self = .unknownTransfer
        case 9: self = .unsupportedVersion
        default: self = .unknown(rawValue)
        }
    }

    /// The number on the wire.
    public var rawValue: UInt32 {
        switch self {
        case .badRequest: return 1
        case .unknownProperty: return 2
        case .valueNotAllowed: return 3
        case .cameraBusy: return 4
        case .noCamera: return 5
        case .notSupported: return 6
        case .internal: return 7
        case .unknownTransfer: return 8
        case .unsupportedVersion: return 9
        case .unknown(let code): return code
        }
    }

    // By number, so `.unknown(3)` is `.valueNotAllowed`.
    public static func == (a: ErrorCode, b: ErrorCode) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    /// `"bad request"`, `"unknown property"`, ...; `"error 42"` for a code not listed.
    public var description: String {
        switch self {
        case .badRequest: return "bad request"
        case .unknownProperty: return "unknown property"
        case .valueNotAllowed: return "value not allowed"
        case .cameraBusy: return "camera busy"
        case .noCamera: return "no camera"
        case .notSupported: return "not supported"
        case .internal: return "internal error"
        case .unknownTransfer: return "unknown transfer"
        case .unsupportedVersion: return "unsupported version"
        case .unknown(let code):
            // `.unknown(3)` made by hand is still "value not allowed".
            let listed = ErrorCode(rawValue: code)
            if case .unknown = listed { return "error \(code)" }
            return listed.description
        }
    }
}

/// An `error` message from the camera (§6, §7): the reply to a request that failed, or
/// an event (tag 0). It is an `Error`, so a controller can throw it as it came.
public struct CameraProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure; never 0 on the wire.
    public var code: ErrorCode
    /// The camera's words, for logs and alerts: `iso: 12800 is not an allowed value`. At most 1024 bytes.
    public var message: String

    /// An error with `code` and `message`.
    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    /// `"value not allowed: iso: 12800 is not an allowed value"`.
    public var description: String { "\(code): \(message)" }
}

extension CameraProtocolError: LocalizedError {
    public var errorDescription: String? { description }
}

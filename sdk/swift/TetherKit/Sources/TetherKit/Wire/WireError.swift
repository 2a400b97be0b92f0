import Foundation

/// What is wrong with bytes that came from the wire, in words.
///
/// The texts are the C++ codec's (`proto/camera/messages.cpp`), so a Swift camera and
/// the board's camera answer the same malformed request with the same `error` message,
/// for example `set_property: Value is missing` or
/// `PeerTalk frame header has version 2, expected 1 (is the peer speaking PeerTalk?)`.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which rule was broken; it decides what the receiver does next.
    public enum Kind: Sendable, Equatable {
        /// A frame header whose version is not 1 (§2). The stream cannot be framed:
        /// close the channel.
        case badVersion
        /// A frame header announcing more payload than the reader takes (16 MiB, §2, §8).
        /// Close the channel.
        case payloadTooLarge
        /// The stream ended inside a frame.
        case truncated
        /// A frame that breaks the protocol's rules: a missing key, a wrong type, a bound
        /// of §8 exceeded, a payload that is no binary plist. A camera answers it with
        /// `error` code 1 (bad request) and goes on.
        case malformed
        /// A frame type this side does not take. A camera answers a request of such a
        /// type with `error` code 6 (not supported), using its tag (§3).
        case unsupportedType
        /// Frame type 0, PeerTalk's end of stream: no message, the peer is leaving.
        case endOfStream
    }

    /// Which rule was broken.
    public var kind: Kind
    /// What was wrong, naming the message and the field: `hello: Name is 65 bytes, more than 64`.
    public var message: String

    /// Makes an error of `kind` that says `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The error code a camera answers with (§3): `not supported` for an unknown frame
    /// type, `bad request` for everything else.
    public var errorCode: ErrorCode {
        kind == .unsupportedType ? .notSupported : .badRequest
    }

    /// Whether the channel must be closed: the byte stream cannot be framed any more, or
    /// the peer ended it. Otherwise only this one frame is rejected.
    public var endsChannel: Bool {
        switch kind {
        case .badVersion, .payloadTooLarge, .truncated, .endOfStream: return true
        case .malformed, .unsupportedType: return false
        }
    }

    public var description: String { message }
}

extension WireError: LocalizedError {
    public var errorDescription: String? { message }
}

extension WireError {
    /// A `.malformed` error (the common case), for the codec's own use.
    static func malformed(_ text: String) -> WireError { WireError(.malformed, text) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What went wrong below the camera protocol: the listening socket or the board's TCP
/// connection.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another program (or another listener of this app) holds 127.0.0.1:port.
    case addressInUse(port: UInt16)
    /// The board closed the connection (end of stream): tether-camera stopped, tetherd
    /// went away, or the phone was unplugged.
    case closedByPeer
    /// The connection was reset.
    case reset
    /// This side closed the socket (`close()`, `suspend()`, `stop()`).
    case closedLocally
    /// A wait ran past its deadline.
    case timedOut
    /// A system call failed with this errno.
    case system(String, Int32)

    public var description: String {
        switch self {
        case .addressInUse(let port): return "127.0.0.1:\(port) is in use by another listener"
        case .closedByPeer: return "the board closed the connection"
        case .reset: return "the connection was reset"
        case .closedLocally: return "closed by this side"
        case .timedOut: return "timed out"
        case .system(let call, let code): return "\(call): \(Sockets.describe(code))"
        }
    }

    static func from(errno code: Int32, call: String) -> TransportError {
        switch code {
        case ECONNRESET, EPIPE, ECONNABORTED, ETIMEDOUT: return .reset
        default: return .system(call, code)
        }
    }
}

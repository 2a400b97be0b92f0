import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP listener on 127.0.0.1:PORT, which is what an iOS app must open for usbmux to
/// reach it: the phone's usbmux driver turns the board's Connect into a TCP connection
/// from loopback to this port. BSD sockets are allowed in iOS apps; this one is
/// non-blocking and polled by TetherKit's I/O thread.
///
/// Connections are taken from the kernel only while someone waits in `accept`; the rest
/// wait in the kernel's backlog.
public final class TCPListener: @unchecked Sendable, PollSource {
    /// The port listened on (the one asked for, or the one the system chose for 0).
    public let port: UInt16

    private let loop = PollLoop.shared
    private var fd: Int32  // under loop.lock; -1 once closed
    private var accepted: [Int32] = []  // taken from the kernel, not yet handed out (≤ 4)
    private var failure: TransportError? = nil
    private let acceptable = WaitChannel()
    private let inputLimit: Int
    private let outputLimit: Int

    /// Listens on 127.0.0.1:`port`. Throws `TransportError.addressInUse` when another
    /// socket holds the port.
    public init(port: UInt16, backlog: Int32 = 4, connectionInputLimit: Int = 1 << 20,
                connectionOutputLimit: Int = 4 << 20) throws {
        switch Sockets.listenLoopback(port: port, backlog: backlog) {
        case .success(let fd): self.fd = fd
        case .failure(let e): throw e
        }
        self.port = port != 0 ? port : Sockets.localPort(fd)
        inputLimit = connectionInputLimit
        outputLimit = connectionOutputLimit
        loop.register(self)
    }

    deinit {
        if fd >= 0 { Sockets.closeSocket(fd) }
        for c in accepted { Sockets.closeSocket(c) }
        loop.unregister(self)
    }

    public var isListening: Bool { loop.withLock { fd >= 0 } }

    /// The next connection. Throws `TransportError.timedOut` after `timeout`,
    /// `.closedLocally` once the listener is closed, `CancellationError` when the task is
    /// cancelled.
    public func accept(timeout: Duration?) async throws -> TCPConnection {
        let until = deadline(after: timeout)
        while true {
            let fd: Int32? = try loop.withLock {
                if self.fd < 0 { throw TransportError.closedLocally }
                if let failure { throw failure }
                return accepted.isEmpty ? nil : accepted.removeFirst()
            }
            if let fd {
                return TCPConnection(fd: fd, inputLimit: inputLimit, outputLimit: outputLimit)
            }
            loop.poke()  // poll the listening socket now that someone waits
            try await loop.wait(on: acceptable, deadline: until) {
                self.fd >= 0 && failure == nil && accepted.isEmpty
            }
        }
    }

    /// Stops listening: the port is refused from now on, and `accept` calls throw
    /// `.closedLocally`. Connections already accepted stay open.
    public func close() {
        let was: Bool = loop.withLock {
            guard fd >= 0 else { return false }
            Sockets.closeSocket(fd)
            fd = -1
            for c in accepted { Sockets.closeSocket(c) }
            accepted = []
            return true
        }
        if was {
            loop.unregister(self)
            loop.wake([acceptable])
        }
    }

    // MARK: PollSource (under the loop's lock)

    func pollInterest() -> (fd: Int32, events: Int16) {
        let wanted = fd >= 0 && failure == nil && accepted.count < 4 && acceptableHasWaiters
        return (fd, wanted ? Int16(POLLIN) : 0)
    }

    private var acceptableHasWaiters: Bool { !acceptable.isEmpty }

    func pollReady(_ revents: Int16, scratch: UnsafeMutableRawBufferPointer) -> [WaitChannel] {
        guard fd >= 0 else { return [] }
        switch Sockets.acceptOne(fd) {
        case .socket(let c): accepted.append(c)
        case .wouldBlock: return []
        case .failed(let e):
            // Out of descriptors and the like: said to the waiting accept, which the
            // caller may retry after closing the listener and opening another.
            failure = .system("accept", e)
        }
        return [acceptable]
    }
}

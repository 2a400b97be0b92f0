import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The board's TCP connection, as the app's listener accepted it. Non-blocking: TetherKit's
/// I/O thread reads into a bounded input buffer and writes from a bounded output buffer;
/// `receive` and `send` wait (with a deadline, and cancellably) only when those are empty
/// or full.
///
/// One task reads and any number of tasks may send: each `send` is queued whole, so frames
/// from concurrent senders never interleave.
public final class TCPConnection: @unchecked Sendable, PollSource {
    /// How much is read ahead of the reader; reading stops (and TCP pushes back on the
    /// board) while this much waits.
    public let inputLimit: Int
    /// How much may wait to be written; `send` waits for room beyond it.
    public let outputLimit: Int

    private let loop = PollLoop.shared
    // Under loop.lock:
    private var fd: Int32
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var outputHead = 0  // bytes of `output` already written
    private var inputEnd: TransportError? = nil  // end of stream or error, after the input
    private var outputEnd: TransportError? = nil
    private let readable = WaitChannel()
    private let writable = WaitChannel()

    init(fd: Int32, inputLimit: Int = 1 << 20, outputLimit: Int = 4 << 20) {
        self.fd = fd
        self.inputLimit = inputLimit
        self.outputLimit = outputLimit
        loop.register(self)
    }

    deinit {
        if fd >= 0 { Sockets.closeSocket(fd) }
        loop.unregister(self)
    }

    /// Whether the connection has neither ended nor been closed.
    public var isOpen: Bool {
        loop.withLock { fd >= 0 && inputEnd == nil && outputEnd == nil }
    }

    /// Up to `maxBytes` bytes, as soon as there are any. Throws `TransportError.closedByPeer`
    /// at the end of the stream (after every byte before it was returned), `.reset`,
    /// `.closedLocally`, `.timedOut`, or `CancellationError`.
    public func receive(atMost maxBytes: Int = 64 * 1024, timeout: Duration? = nil) async throws -> Data {
        let until = deadline(after: timeout)
        while true {
            let (data, end): (Data?, TransportError?) = loop.withLock {
                if !input.isEmpty {
                    let n = min(maxBytes, input.count)
                    let out = Data(input[0..<n])
                    let wasFull = input.count >= inputLimit
                    if n == input.count {
                        input.removeAll(keepingCapacity: input.capacity <= 256 * 1024)
                    } else {
                        input.removeFirst(n)
                    }
                    if wasFull { loop.poke() }  // room again: poll for input
                    return (out, nil)
                }
                if fd < 0 { return (nil, .closedLocally) }
                return (nil, inputEnd)
            }
            if let data { return data }
            if let end { throw end }
            try await loop.wait(on: readable, deadline: until) {
                input.isEmpty && inputEnd == nil && fd >= 0
            }
        }
    }

    /// Queues `data` for the board, waiting while the output buffer is full. Returns once
    /// it is queued (not yet written). Throws the error that ended the connection,
    /// `.timedOut`, or `CancellationError` (nothing of `data` is queued then).
    public func send(_ data: Data, timeout: Duration? = nil) async throws {
        let until = deadline(after: timeout)
        while true {
            let queued: Bool = try loop.withLock {
                if fd < 0 { throw TransportError.closedLocally }
                if let outputEnd { throw outputEnd }
                let waiting = output.count - outputHead
                // One frame larger than the limit goes out alone.
                guard waiting == 0 || waiting + data.count <= outputLimit else { return false }
                if outputHead > 0 && outputHead >= output.count / 2 {
                    output.removeSubrange(0..<outputHead)
                    outputHead = 0
                }
                output.append(contentsOf: data)
                return true
            }
            if queued {
                loop.poke()
                return
            }
            try await loop.wait(on: writable, deadline: until) {
                fd >= 0 && outputEnd == nil && output.count - outputHead + data.count > outputLimit
            }
        }
    }

    /// Bytes queued and not yet written.
    public var unsentBytes: Int { loop.withLock { output.count - outputHead } }

    /// Closes the socket at once; waiting `receive` and `send` calls throw `.closedLocally`.
    public func close() {
        let channels: [WaitChannel]? = loop.withLock {
            guard fd >= 0 else { return nil }
            Sockets.closeSocket(fd)
            fd = -1
            input = []
            output = []
            outputHead = 0
            return [readable, writable]
        }
        if let channels {
            loop.unregister(self)
            loop.wake(channels)
        }
    }

    // MARK: PollSource (under the loop's lock)

    func pollInterest() -> (fd: Int32, events: Int16) {
        guard fd >= 0 else { return (-1, 0) }
        var events: Int16 = 0
        if inputEnd == nil && input.count < inputLimit { events |= Int16(POLLIN) }
        if outputEnd == nil && output.count > outputHead { events |= Int16(POLLOUT) }
        return (fd, events)
    }

    func pollReady(_ revents: Int16, scratch: UnsafeMutableRawBufferPointer) -> [WaitChannel] {
        guard fd >= 0 else { return [] }
        var wake: [WaitChannel] = []
        if revents & Int16(POLLERR) != 0 {
            let e = Sockets.pendingError(fd)
            if e != 0 {
                let end = TransportError.from(errno: e, call: "socket")
                if inputEnd == nil { inputEnd = end }
                outputEnd = outputEnd ?? end
                return [readable, writable]
            }
        }
        if inputEnd == nil && revents & Int16(POLLIN | POLLHUP) != 0 {
            // Read what there is (up to the limit), so the end of the stream is seen even
            // while the reader is busy.
            while inputEnd == nil && input.count < inputLimit {
                let room = min(scratch.count, inputLimit - input.count)
                switch Sockets.receive(fd, into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<room])) {
                case .bytes(let n):
                    input.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                    if n < room { break }
                    continue
                case .wouldBlock: break
                case .endOfStream: inputEnd = .closedByPeer
                case .failed(let e): inputEnd = TransportError.from(errno: e, call: "recv")
                }
                break
            }
            wake.append(readable)
        }
        if outputEnd == nil && revents & Int16(POLLOUT | POLLHUP) != 0 && output.count > outputHead {
            var failed: Int32? = nil
            while output.count > outputHead {
                let r = output.withUnsafeBytes { all in
                    Sockets.send(fd, UnsafeRawBufferPointer(rebasing: all[outputHead...]))
                }
                if case .bytes(let n) = r {
                    outputHead += n
                    continue
                }
                if case .failed(let e) = r { failed = e }
                break
            }
            if output.count == outputHead {
                output.removeAll(keepingCapacity: output.count <= 256 * 1024)
                outputHead = 0
            }
            if let failed {
                outputEnd = TransportError.from(errno: failed, call: "send")
                // A reset seen on writing ends the reading too, once the input is read.
                if inputEnd == nil { inputEnd = outputEnd }
                wake.append(readable)
            }
            wake.append(writable)
        }
        return wake
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A socket the loop polls. Every method is called with the loop's lock held.
protocol PollSource: AnyObject {
    /// The descriptor and the poll(2) events wanted now (0: none, or closed).
    func pollInterest() -> (fd: Int32, events: Int16)
    /// Does the I/O poll(2) reported ready, and returns the channels to wake.
    func pollReady(_ revents: Int16, scratch: UnsafeMutableRawBufferPointer) -> [WaitChannel]
}

/// Tasks waiting for one thing on one socket (bytes to read, room to write, a connection
/// to accept). They are woken together and check again.
final class WaitChannel: @unchecked Sendable {
    fileprivate var ids: Set<UInt64> = []
    /// Whether a task waits here (under the loop's lock).
    var isEmpty: Bool { ids.isEmpty }
}

/// The one thread that polls TetherKit's sockets. Async code never blocks on a socket: it
/// checks the socket's state under `lock` and, when it has to wait, parks a continuation
/// here with a deadline; the thread wakes it when poll(2) says the socket is ready, when
/// the deadline passes (`TransportError.timedOut`) or when its task is cancelled
/// (`CancellationError`).
final class PollLoop: @unchecked Sendable {
    static let shared = PollLoop()

    /// Guards every socket's state. Recursive: a socket dropped while the loop holds the
    /// lock closes itself in its deinit.
    let lock = NSRecursiveLock()

    private struct WeakSource {
        weak var source: PollSource?
    }

    private enum Wait {
        case pending  // registered, not parked yet
        case cancelled  // cancelled before it parked
        case parked(CheckedContinuation<Void, Error>, deadline: UInt64?, WaitChannel)
    }

    private var sources: [ObjectIdentifier: WeakSource] = [:]
    private var waits: [UInt64: Wait] = [:]
    private var nextWait: UInt64 = 1
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1

    private init() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { fatalError("TetherKit: pipe: \(Sockets.describe(errno))") }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        _ = Sockets.configure(wakeRead)
        _ = Sockets.configure(wakeWrite)
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "TetherKit.io"
        thread.start()
    }

    func register(_ source: PollSource) {
        lock.lock()
        sources[ObjectIdentifier(source)] = WeakSource(source: source)
        lock.unlock()
        poke()
    }

    func unregister(_ source: PollSource) {
        lock.lock()
        sources[ObjectIdentifier(source)] = nil
        lock.unlock()
        poke()
    }

    /// Makes poll(2) return, so it polls what the sockets want now.
    func poke() {
        var b: UInt8 = 1
        _ = write(wakeWrite, &b, 1)
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Waits on `channel` until it is woken, unless `stillBlocked()` (checked under the
    /// lock, at the moment of parking) says there is nothing to wait for. The caller checks
    /// its condition again after it returns.
    func wait(on channel: WaitChannel, deadline: UInt64?, stillBlocked: () -> Bool) async throws {
        let id: UInt64 = withLock {
            let id = nextWait
            nextWait += 1
            waits[id] = .pending
            return id
        }
        defer { withLock { _ = waits.removeValue(forKey: id) } }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, Error>) in
                lock.lock()
                if case .cancelled? = waits[id] {
                    lock.unlock()
                    cont.resume(throwing: CancellationError())
                    return
                }
                if !stillBlocked() {
                    lock.unlock()
                    cont.resume()
                    return
                }
                if let deadline, deadline <= Sockets.monotonicNanoseconds() {
                    lock.unlock()
                    cont.resume(throwing: TransportError.timedOut)
                    return
                }
                waits[id] = .parked(cont, deadline: deadline, channel)
                channel.ids.insert(id)
                lock.unlock()
                if deadline != nil { poke() }  // the loop learns the nearer deadline
            }
        } onCancel: {
            lock.lock()
            switch waits[id] {
            case .parked(let cont, _, let channel)?:
                waits[id] = nil
                channel.ids.remove(id)
                lock.unlock()
                cont.resume(throwing: CancellationError())
            case .pending?:
                waits[id] = .cancelled
                lock.unlock()
            default:
                lock.unlock()
            }
        }
    }

    /// Wakes every task parked on `channel` (call with the lock held; the continuations
    /// are resumed after it is released, by `resume`).
    func takeWaiters(_ channel: WaitChannel) -> [CheckedContinuation<Void, Error>] {
        var out: [CheckedContinuation<Void, Error>] = []
        for id in channel.ids {
            if case .parked(let cont, _, _)? = waits[id] { out.append(cont) }
            waits[id] = nil
        }
        channel.ids.removeAll()
        return out
    }

    /// Wakes the waiters of `channels` from outside the loop (a close, a write queued).
    func wake(_ channels: [WaitChannel]) {
        let conts = withLock { channels.flatMap { takeWaiters($0) } }
        for c in conts { c.resume() }
    }

    private func run() {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        var fds: [pollfd] = []
        var owners: [PollSource] = []
        while true {
            fds.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            lock.lock()
            for (key, weak) in sources {
                guard let s = weak.source else {
                    sources[key] = nil
                    continue
                }
                let (fd, events) = s.pollInterest()
                if fd >= 0 && events != 0 {
                    fds.append(pollfd(fd: fd, events: events, revents: 0))
                    owners.append(s)
                }
            }
            var nearest: UInt64? = nil
            for case .parked(_, let deadline?, _) in waits.values {
                nearest = min(nearest ?? deadline, deadline)
            }
            lock.unlock()

            var timeout: Int32 = -1
            if let nearest {
                let now = Sockets.monotonicNanoseconds()
                timeout = nearest <= now ? 0 : Int32(min((nearest - now + 999_999) / 1_000_000, 60_000))
            }
            let n = poll(&fds, nfds_t(fds.count), timeout)
            if n < 0 && errno != EINTR {
                usleep(10_000)  // out of memory for the set, say: try again, do not spin
            }
            if fds[0].revents != 0 {
                var sink = [UInt8](repeating: 0, count: 256)
                while read(wakeRead, &sink, sink.count) > 0 {}
            }

            var ready: [CheckedContinuation<Void, Error>] = []
            var expired: [CheckedContinuation<Void, Error>] = []
            lock.lock()
            if n > 0 {
                for (i, s) in owners.enumerated() where fds[i + 1].revents != 0 {
                    // The socket may have been closed (and its number reused) since: it
                    // checks that itself.
                    for channel in s.pollReady(fds[i + 1].revents, scratch: scratch) {
                        ready += takeWaiters(channel)
                    }
                }
            }
            let now = Sockets.monotonicNanoseconds()
            for (id, wait) in waits {
                if case .parked(let cont, let deadline?, let channel) = wait, deadline <= now {
                    waits[id] = nil
                    channel.ids.remove(id)
                    expired.append(cont)
                }
            }
            lock.unlock()
            owners.removeAll(keepingCapacity: true)  // a last reference goes here, unlocked
            for c in ready { c.resume() }
            for c in expired { c.resume(throwing: TransportError.timedOut) }
        }
    }
}

/// A deadline `timeout` from now, in monotonic nanoseconds; nil for none.
func deadline(after timeout: Duration?) -> UInt64? {
    guard let timeout else { return nil }
    let (s, atto) = timeout.components
    let ns = max(0, s) * 1_000_000_000 + max(0, atto) / 1_000_000_000
    return Sockets.monotonicNanoseconds() + UInt64(ns)
}

import Foundation

/// Where a ``CameraLink`` is.
public enum LinkState: Sendable, Equatable, CustomStringConvertible {
    /// Not started, or stopped.
    case stopped
    /// Listening; the board has not connected yet.
    case listening
    /// A session runs: the camera's `hello` (its `name` is the camera's model).
    case connected(Hello)
    /// The board went away (tether-camera or tetherd stopped, the phone unplugged): the
    /// reason. Still listening: the board connects again by itself when it can.
    case boardLost(String)
    /// ``CameraLink/suspend()`` closed the listener; ``CameraLink/resume()`` opens it again.
    case suspended
    /// Listening failed (the port is taken); tried again every second.
    case failed(String)

    public var description: String {
        switch self {
        case .stopped: return "stopped"
        case .listening: return "listening"
        case .connected(let hello): return "connected to \(hello.name)"
        case .boardLost(let why): return "board lost: \(why)"
        case .suspended: return "suspended"
        case .failed(let why): return "cannot listen: \(why)"
        }
    }
}

/// What a ``CameraLink`` listens on and says.
public struct LinkOptions: Sendable, Equatable {
    /// The port the board's tether-camera connects to (its `--port`): 2350.
    public var port: UInt16 = 2350
    /// This controller's `hello.Name`: what tether-camera logs.
    public var name: String = "TetherKit"
    /// This controller's `hello.Capabilities`: all of them.
    public var capabilities: [String] = Hello.Capability.allCases.map(\.rawValue)
    /// The sessions' timeouts.
    public var session = SessionOptions()

    public init(port: UInt16 = 2350, name: String = "TetherKit") {
        self.port = port
        self.name = name
    }
}

/// The app's end of the board: start it once, and it listens on 127.0.0.1:PORT, accepts
/// the board's connection, exchanges `hello`, and does so again whenever the board comes
/// back (PROTOCOL.md §1.1). ``states()`` says where it is; ``session`` is the current
/// ``CameraSession``.
///
/// ```swift
/// let link = CameraLink(options: LinkOptions(port: 2350, name: "My app"))
/// try await link.start()
/// let camera = try await link.connectedSession(timeout: .seconds(30))
/// let iso = try await camera.set("iso", to: "400")
/// ```
///
/// **On iOS**, call ``suspend()`` when the scene goes to the background and ``resume()``
/// when it is active again (from `scenePhase`). A suspended app's listening socket is
/// still open as far as the kernel is concerned: it accepts the board's connection and
/// then nobody answers, so the board waits for a `hello` that never comes; and iOS may
/// reclaim the socket while the app is suspended, so that it no longer listens after the
/// resume (Apple TN2277). Closing it in the background makes the phone refuse the port,
/// which the board retries with a short back-off; opening it again on resume gets a
/// session within about 2 s.
public actor CameraLink {
    public nonisolated let options: LinkOptions
    /// Where the link is now.
    public private(set) var state: LinkState = .stopped
    /// The current session, while connected.
    public private(set) var session: CameraSession? = nil
    /// The port listened on, while listening (the system's choice when `options.port` is 0).
    public var listeningPort: UInt16? { listener?.port }

    private var listener: TCPListener? = nil
    private var runner: Task<Void, Never>? = nil
    private var generation = 0
    private var stateSubscribers: [Int: AsyncStream<LinkState>.Continuation] = [:]
    private var eventSubscribers: [Int: AsyncStream<CameraEvent>.Continuation] = [:]
    private var sessionWaiters: [Int: CheckedContinuation<CameraSession, Error>] = [:]
    private var nextID = 0

    public init(options: LinkOptions = LinkOptions()) {
        self.options = options
    }

    /// Starts listening. Throws ``TransportError/addressInUse(port:)`` when another
    /// socket holds the port.
    public func start() throws {
        guard state == .stopped else { return }
        listener = try TCPListener(port: options.port)
        set(.listening)
        run()
    }

    /// The app goes to the background: stop listening and end the session. The board
    /// then finds the port refused and keeps trying (see the type's notes for why).
    public func suspend() async {
        guard state != .stopped && state != .suspended else { return }
        set(.suspended)
        await halt()
    }

    /// The app is active again: listen again. The board connects within about 2 s.
    public func resume() {
        guard state == .suspended else { return }
        run()
    }

    /// Stops listening and ends the session. Callers waiting in ``connectedSession(timeout:)``
    /// throw ``TetherError/notConnected``.
    public func stop() async {
        guard state != .stopped else { return }
        set(.stopped)
        await halt()
        for (_, w) in sessionWaiters { w.resume(throwing: TetherError.notConnected) }
        sessionWaiters = [:]
    }

    /// The link's states: the current one first, then each change.
    public func states() -> AsyncStream<LinkState> {
        let (stream, cont) = AsyncStream<LinkState>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let id = newID()
        cont.yield(state)
        stateSubscribers[id] = cont
        cont.onTermination = { [weak self] _ in Task { await self?.dropStates(id) } }
        return stream
    }

    /// The camera's events, from every session to come (the newest 64 are kept for a
    /// slow reader).
    public func events() -> AsyncStream<CameraEvent> {
        let (stream, cont) = AsyncStream<CameraEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = newID()
        eventSubscribers[id] = cont
        cont.onTermination = { [weak self] _ in Task { await self?.dropEvents(id) } }
        return stream
    }

    /// The current session, or the next one: waits until the board connects, for at
    /// most `timeout` (`nil`: until it does, the link is stopped, or the task is
    /// cancelled).
    public func connectedSession(timeout: Duration? = nil) async throws -> CameraSession {
        if let session { return session }
        if state == .stopped { throw TetherError.notConnected }
        let id = newID()
        let timer = timeout.map { limit in
            Task { [weak self] in
                try? await Task.sleep(for: limit)
                if !Task.isCancelled {
                    await self?.failWaiter(id, TetherError.timedOut(request: "the board's connection", after: limit))
                }
            }
        }
        defer { timer?.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { cont in
                if let session {
                    cont.resume(returning: session)
                } else if Task.isCancelled {
                    cont.resume(throwing: CancellationError())
                } else if state == .stopped {
                    cont.resume(throwing: TetherError.notConnected)
                } else {
                    sessionWaiters[id] = cont
                }
            }
        } onCancel: {
            Task { await self.failWaiter(id, CancellationError()) }
        }
    }

    /// Live view that outlives sessions: when the board goes away, the sequence waits for
    /// the next session and starts live view again there. It ends when the task is
    /// cancelled, the iteration stops, or the link is stopped
    /// (``TetherError/notConnected``). See ``CameraSession/liveView(maxInFlight:)``.
    public nonisolated func liveView(maxInFlight: Int? = 2) -> LinkLiveView {
        LinkLiveView(link: self, maxInFlight: maxInFlight)
    }

    // MARK: - Inside

    private func newID() -> Int {
        nextID += 1
        return nextID
    }

    private func dropStates(_ id: Int) { stateSubscribers[id] = nil }
    private func dropEvents(_ id: Int) { eventSubscribers[id] = nil }

    private func failWaiter(_ id: Int, _ error: Error) {
        sessionWaiters.removeValue(forKey: id)?.resume(throwing: error)
    }

    private func set(_ s: LinkState) {
        // Each session is news, even with the same camera.
        if s == state, case .connected = s {} else if s == state { return }
        state = s
        for c in stateSubscribers.values { c.yield(s) }
    }

    private func halt() async {
        generation += 1
        runner?.cancel()
        runner = nil
        listener?.close()
        listener = nil
        if let s = session {
            session = nil
            await s.close()
        }
    }

    private func run() {
        generation += 1
        let gen = generation
        if listener == nil { set(.listening) }
        runner = Task { await self.acceptLoop(gen) }
    }

    private func acceptLoop(_ gen: Int) async {
        while !Task.isCancelled && gen == generation {
            if listener == nil {
                do {
                    listener = try TCPListener(port: options.port)
                    if session == nil { set(.listening) }
                } catch {
                    set(.failed("\(error)"))
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
            }
            guard let listener else { return }
            if session == nil, case .failed = state { set(.listening) }
            do {
                let connection = try await listener.accept(timeout: .seconds(30))
                guard gen == generation else {
                    connection.close()
                    return
                }
                // The hello runs beside the accepts: a board that connects and says
                // nothing does not keep the next connection waiting.
                Task { await self.handshake(connection, gen) }
            } catch TransportError.timedOut {
                continue
            } catch is CancellationError {
                return
            } catch TransportError.closedLocally {
                return
            } catch {
                // accept failed (out of descriptors?): listen again after a pause.
                listener.close()
                self.listener = nil
                set(.failed("\(error)"))
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func handshake(_ connection: TCPConnection, _ gen: Int) async {
        let new: CameraSession
        do {
            new = try await CameraSession.open(connection, name: options.name,
                                               capabilities: options.capabilities, options: options.session)
        } catch {
            return  // not a camera, or it said nothing: the board tries again
        }
        guard gen == generation else {
            await new.close()
            return
        }
        // Each connection is a new session (§1.1): the board dials again only when the
        // one before is over for it, so a session still open here is a dead one.
        if let old = session { Task { await old.close() } }
        session = new
        set(.connected(new.cameraHello))
        for (_, w) in sessionWaiters { w.resume(returning: new) }
        sessionWaiters = [:]
        let events = await new.events()
        Task { [weak self] in
            for await e in events { await self?.forward(e) }
        }
        Task { [weak self] in
            let why = await new.waitUntilEnded()
            await self?.ended(new, why)
        }
    }

    private func forward(_ e: CameraEvent) {
        for c in eventSubscribers.values { c.yield(e) }
    }

    private func ended(_ s: CameraSession, _ why: TransportError) {
        guard session === s else { return }
        session = nil
        set(.boardLost(why.description))
    }
}

/// Live view across sessions (``CameraLink/liveView(maxInFlight:)``).
public struct LinkLiveView: AsyncSequence, Sendable {
    public typealias Element = LiveViewFrame
    let link: CameraLink
    let maxInFlight: Int?

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(link: link, maxInFlight: maxInFlight)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let link: CameraLink
        let maxInFlight: Int?
        var inner: LiveViewFrames.AsyncIterator? = nil

        public mutating func next() async throws -> LiveViewFrame? {
            while true {
                try Task.checkCancellation()
                if inner == nil {
                    let session = try await link.connectedSession(timeout: nil)
                    if await session.isEnded {  // the link has not seen the end yet
                        try await Task.sleep(for: .milliseconds(50))
                        continue
                    }
                    inner = session.liveView(maxInFlight: maxInFlight).makeAsyncIterator()
                }
                do {
                    if let frame = try await inner!.next() { return frame }
                    inner = nil
                    return nil  // stopped, or replaced by another live view
                } catch TetherError.sessionEnded {
                    inner = nil  // wait for the next session
                }
            }
        }
    }
}

import Foundation

/// Timeouts of a session. Every wait of TetherKit has one.
public struct SessionOptions: Sendable, Equatable {
    /// The default for each request (`properties`, `set`, `autofocus` ...): 10 s.
    public var requestTimeout: Duration = .seconds(10)
    /// `capture`: the camera's `ok`, then its `capture_done` (a camera that is busy is
    /// retried by tether-camera for up to 10 s first): 30 s.
    public var captureTimeout: Duration = .seconds(30)
    /// A download fails when no chunk comes for this long: 10 s.
    public var downloadIdleTimeout: Duration = .seconds(10)
    /// The camera's `hello` after the board connects: 10 s.
    public var helloTimeout: Duration = .seconds(10)
    /// Live view fails when no frame comes for this long while the camera is attached
    /// (after `camera_lost` it waits for the camera to come back): 10 s.
    public var liveViewFrameTimeout: Duration = .seconds(10)

    public init() {}
}

/// A `download`'s progress: `(offset + length) / total` of the last chunk (PROTOCOL.md §5.2).
public struct DownloadProgress: Sendable, Equatable {
    /// Bytes of the file received so far (from offset 0, counting a resumed download's start).
    public var receivedBytes: UInt64
    /// The file's size.
    public var totalBytes: UInt64
    /// `receivedBytes / totalBytes`, 1 for an empty file.
    public var fraction: Double { totalBytes == 0 ? 1 : Double(receivedBytes) / Double(totalBytes) }
}

/// What the camera says without being asked (tag 0 events, PROTOCOL.md §3).
public enum CameraEvent: Sendable, Equatable {
    /// A property's value or allowed values changed, whoever changed them.
    case propertyChanged(Property)
    /// A capture is ready to download (any controller's capture).
    case captureDone(CaptureDone)
    /// A camera appeared on the board after there was none.
    case cameraAttached(model: String, serial: String?)
    /// The camera went away (unplugged, switched off). Requests fail with `no camera`
    /// until `cameraAttached`; live view resumes by itself then.
    case cameraLost(reason: String?)
    /// An `error` that answers no request.
    case error(CameraProtocolError)
}

/// One session with the board's camera: one TCP connection, from the camera's `hello` to
/// the end of the connection (PROTOCOL.md §3). Requests run concurrently; each has a
/// timeout and is cancelled with its task.
///
/// Sessions come from a ``CameraLink``, which accepts the board's connections and makes a
/// new session for each; ``open(_:name:capabilities:options:)`` makes one on a connection
/// you accepted yourself.
public actor CameraSession {
    /// The camera's `hello`: `name` is the camera's model, `capabilities` what it can do.
    public nonisolated let cameraHello: Hello
    /// The protocol version this session speaks: the lower of the two `hello`s.
    public nonisolated let version: UInt32
    public nonisolated let options: SessionOptions

    private let connection: TCPConnection
    private var nextTag: UInt32 = 1
    private var pending: [UInt32: Pending] = [:]
    private var timers: [UInt32: Task<Void, Never>] = [:]
    private var ended: TransportError? = nil
    private var endWaiters: [CheckedContinuation<TransportError, Never>] = []
    private var eventSubscribers: [Int: AsyncStream<CameraEvent>.Continuation] = [:]
    private var statsSubscribers: [Int: AsyncStream<LiveViewStats>.Continuation] = [:]
    private var nextSubscriber = 0
    private var capturesSeen = 0
    private var recentCaptures: [(index: Int, done: CaptureDone)] = []
    private var captureWaiters: [Int: (after: Int, cont: CheckedContinuation<CaptureDone, Error>)] = [:]
    private var captureTimers: [Int: Task<Void, Never>] = [:]
    private var live: LiveState? = nil
    private var lastLiveID = 0
    private var cameraAttached = true

    private struct Reply {
        var message: Message
        var capturesSeen: Int
    }

    private enum Pending {
        case awaiting(CheckedContinuation<Reply, Error>?)
        case arrived(Result<Reply, Error>)
        case download(DownloadState)
    }

    private final class DownloadState {
        var sink: DownloadSink
        var next: UInt64
        var lastActivity = ContinuousClock.now
        let progress: (@Sendable (DownloadProgress) -> Void)?
        var cont: CheckedContinuation<UInt64, Error>?
        /// How it ended, when that was before its caller parked: the request's send is a
        /// suspension point, and a small file's last chunk can arrive during it.
        var outcome: Result<UInt64, Error>?
        init(sink: DownloadSink, from offset: UInt64, progress: (@Sendable (DownloadProgress) -> Void)?) {
            self.sink = sink
            self.next = offset
            self.progress = progress
        }
    }

    private enum DownloadSink {
        case memory(Data)
        case file(FileHandle)
    }

    private struct LiveState {
        let id: Int
        let maxInFlight: Int?
        var started = false
        var slot: LiveViewFrame? = nil
        var waiter: CheckedContinuation<LiveViewFrame?, Error>? = nil
        var deadline: ContinuousClock.Instant? = nil
        var timer: Task<Void, Never>? = nil
    }

    private init(connection: TCPConnection, hello: Hello, options: SessionOptions) {
        self.connection = connection
        self.cameraHello = hello
        self.version = min(hello.version, WireLimits.protocolVersion)
        self.options = options
    }

    deinit {
        connection.close()  // a session nobody holds any more ends (its reader stops too)
    }

    /// Starts a session on a connection the board opened: sends this controller's
    /// `hello` and waits for the camera's (``SessionOptions/helloTimeout``). The
    /// connection is closed when this throws.
    public static func open(_ connection: TCPConnection, name: String,
                            capabilities: [String] = Hello.Capability.allCases.map(\.rawValue),
                            options: SessionOptions = SessionOptions()) async throws -> CameraSession {
        do {
            let ours = Hello(role: .controller, name: name, capabilities: capabilities)
            try await connection.send(try encode(.hello(ours), tag: 0), timeout: options.helloTimeout)
            var reader = FrameReader()
            let until = ContinuousClock.now + options.helloTimeout
            var theirs: Hello? = nil
            while theirs == nil {
                if let frame = try reader.next() {
                    switch try CameraCodec.decodeMessage(frame) {
                    case .hello(let h): theirs = h
                    case .error(let e) where e.code == .unsupportedVersion:
                        throw TetherError.unsupportedVersion(0)
                    default:
                        throw TetherError.protocolViolation(
                            "the camera's first frame is \(FrameType.name(of: frame.type)), not hello")
                    }
                    continue
                }
                let left = until - ContinuousClock.now
                guard left > .zero else { throw TetherError.timedOut(request: "hello", after: options.helloTimeout) }
                do {
                    reader.append(try await connection.receive(atMost: 1 << 20, timeout: left))
                } catch TransportError.timedOut {
                    throw TetherError.timedOut(request: "hello", after: options.helloTimeout)
                }
            }
            guard let theirs, theirs.version >= 1 else {
                // §3: a side that cannot speak the session's version says so and closes.
                let e = CameraProtocolError(code: .unsupportedVersion,
                                            message: "this controller speaks protocol version 1")
                try? await connection.send(encode(error: e), timeout: .seconds(1))
                throw TetherError.unsupportedVersion(theirs?.version ?? 0)
            }
            let session = CameraSession(connection: connection, hello: theirs, options: options)
            await session.startReading(reader)
            return session
        } catch {
            connection.close()
            throw Self.mapped(error)
        }
    }

    // MARK: Requests

    /// Every property, with its allowed values.
    public func properties(timeout: Duration? = nil) async throws -> [Property] {
        let reply = try await roundTrip(.getProperties(name: nil), timeout: timeout)
        guard case .properties(let list) = reply.message else { throw unexpected(reply, "get_properties") }
        return list
    }

    /// One property, read from the camera.
    public func property(_ name: String, timeout: Duration? = nil) async throws -> Property {
        let reply = try await roundTrip(.getProperties(name: name), timeout: timeout)
        guard case .properties(let list) = reply.message, let p = list.first(where: { $0.name == name })
        else { throw unexpected(reply, "get_properties") }
        return p
    }

    /// Sets a property and returns the value the camera applied, read back from it: the
    /// camera may round (`1/120` becomes `1/125`), so show this one. A value not allowed
    /// throws ``TetherError/camera(_:)`` with ``ErrorCode/valueNotAllowed``.
    @discardableResult
    public func set(_ name: String, to value: String, timeout: Duration? = nil) async throws -> String {
        try await setProperty(name, to: value, timeout: timeout).applied
    }

    /// Sets a property; the reply has both the requested and the applied value.
    public func setProperty(_ name: String, to value: String, timeout: Duration? = nil) async throws -> PropertySet {
        let reply = try await roundTrip(.setProperty(name: name, value: value), timeout: timeout)
        guard case .propertySet(let result) = reply.message else { throw unexpected(reply, "set_property") }
        return result
    }

    /// Takes a picture and returns its `capture_done`: the file to ``download(_:offset:progress:)``.
    /// (A camera that writes RAW+JPEG sends a second `capture_done`: it comes as an event.)
    public func capture(timeout: Duration? = nil) async throws -> CaptureDone {
        let limit = timeout ?? options.captureTimeout
        let until = ContinuousClock.now + limit
        let reply = try await roundTrip(.capture, timeout: limit)
        guard case .ok = reply.message else { throw unexpected(reply, "capture") }
        return try await captureDone(after: reply.capturesSeen, until: until, limit: limit)
    }

    /// Focuses; returns once the camera has.
    public func autofocus(timeout: Duration? = nil) async throws {
        let reply = try await roundTrip(.autofocus, timeout: timeout)
        guard case .ok = reply.message else { throw unexpected(reply, "autofocus") }
    }

    /// One manual focus step.
    public func focusStep(_ direction: FocusDirection, _ size: FocusStepSize = .medium,
                          timeout: Duration? = nil) async throws {
        let reply = try await roundTrip(.focusStep(direction: direction, size: size), timeout: timeout)
        guard case .ok = reply.message else { throw unexpected(reply, "focus_step") }
    }

    /// Downloads a capture into memory. `progress` is called for each chunk.
    public func download(_ transferID: UInt32, offset: UInt64 = 0,
                         progress: (@Sendable (DownloadProgress) -> Void)? = nil) async throws -> Data {
        let state = DownloadState(sink: .memory(Data()), from: offset, progress: progress)
        _ = try await runDownload(transferID, offset: offset, state)
        guard case .memory(let data) = state.sink else { return Data() }
        return data
    }

    /// Downloads a capture into a file (created or truncated), chunk by chunk; returns
    /// the file's size. With `offset` > 0 it resumes: the bytes go after the file's first
    /// `offset` bytes.
    @discardableResult
    public func download(_ transferID: UInt32, to url: URL, offset: UInt64 = 0,
                         progress: (@Sendable (DownloadProgress) -> Void)? = nil) async throws -> UInt64 {
        if offset == 0 || !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.truncate(atOffset: offset)
        try handle.seek(toOffset: offset)
        return try await runDownload(transferID, offset: offset,
                                     DownloadState(sink: .file(handle), from: offset, progress: progress))
    }

    // MARK: Live view

    /// Live view as an `AsyncSequence` of frames, paced by acknowledgements (PROTOCOL.md
    /// §6.2): live view starts with the first `next()`, and each `next()` acknowledges
    /// the frame before it, so the camera sends at most `maxInFlight` frames the consumer
    /// has not finished with. A slow consumer gets the newest frame, never a backlog: a
    /// frame that arrives before the consumer asks replaces the one waiting.
    ///
    /// `maxInFlight` 1 gives the freshest frames to a slow consumer, 2 keeps the link busy
    /// while the consumer decodes (use it when the consumer keeps up); `nil` starts live
    /// view without acknowledgements. Live view stops when the iteration ends (the
    /// iterator goes away, `break`, task cancelled). One live view per session: a new one
    /// ends the previous one's sequence.
    public nonisolated func liveView(maxInFlight: Int? = 2) -> LiveViewFrames {
        LiveViewFrames(session: self, maxInFlight: maxInFlight)
    }

    /// Stops live view, if it runs.
    public func stopLiveView() async {
        guard let state = live else { return }
        await endLiveView(state.id)
    }

    /// `live_view_stats`, once a second while live view runs (the newest few are kept
    /// for a slow reader). Ends with the session.
    public func liveViewStats() -> AsyncStream<LiveViewStats> {
        let (stream, cont) = AsyncStream<LiveViewStats>.makeStream(bufferingPolicy: .bufferingNewest(4))
        let id = subscriberID()
        if ended != nil { cont.finish() } else { statsSubscribers[id] = cont }
        cont.onTermination = { [weak self] _ in Task { await self?.dropStats(id) } }
        return stream
    }

    // MARK: Events and the end

    /// The camera's events (property changes, captures, the camera lost and attached),
    /// from now on; the newest 64 are kept for a slow reader. Ends with the session.
    public func events() -> AsyncStream<CameraEvent> {
        let (stream, cont) = AsyncStream<CameraEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = subscriberID()
        if ended != nil { cont.finish() } else { eventSubscribers[id] = cont }
        cont.onTermination = { [weak self] _ in Task { await self?.dropEvents(id) } }
        return stream
    }

    /// Whether the session has ended.
    public var isEnded: Bool { ended != nil }

    /// Waits for the end of the session and says why it ended.
    public func waitUntilEnded() async -> TransportError {
        if let ended { return ended }
        return await withCheckedContinuation { endWaiters.append($0) }
    }

    /// Ends the session: closes the connection. Waiting requests throw
    /// ``TetherError/sessionEnded(_:)``.
    public func close() {
        finish(.closedLocally)
    }

    // MARK: - Inside: requests and replies

    private static func encode(_ request: Request, tag: UInt32) throws -> Data {
        do {
            try CameraCodec.validate(request)
        } catch let e as WireError {
            throw TetherError.invalidRequest(e.message)
        }
        return CameraCodec.encode(request, tag: tag).encode()
    }

    private static func encode(error: CameraProtocolError) -> Data {
        CameraCodec.encode(Message.error(error), tag: 0).encode()
    }

    private static func mapped(_ error: Error) -> Error {
        switch error {
        case let e as TransportError: return TetherError.sessionEnded(e)
        case let e as WireError: return TetherError.protocolViolation(e.message)
        default: return error
        }
    }

    private func subscriberID() -> Int {
        nextSubscriber += 1
        return nextSubscriber
    }

    private func dropEvents(_ id: Int) { eventSubscribers[id] = nil }
    private func dropStats(_ id: Int) { statsSubscribers[id] = nil }

    private func allocateTag() -> UInt32 {
        let tag = nextTag
        nextTag = nextTag == UInt32.max ? 1 : nextTag + 1
        return tag
    }

    private func send(_ request: Request, tag: UInt32) async throws {
        if let ended { throw TetherError.sessionEnded(ended) }
        let bytes = try Self.encode(request, tag: tag)
        do {
            try await connection.send(bytes, timeout: options.requestTimeout)
        } catch TransportError.timedOut {
            throw TetherError.timedOut(request: request.frameType.name, after: options.requestTimeout)
        } catch {
            throw Self.mapped(error)
        }
    }

    private func unexpected(_ reply: Reply, _ request: String) -> TetherError {
        .protocolViolation("\(request) answered with \(reply.message.frameType?.name ?? "an unknown frame")")
    }

    /// Sends a request and waits for its reply (an `error` reply throws).
    private func roundTrip(_ request: Request, timeout: Duration?) async throws -> Reply {
        let limit = timeout ?? options.requestTimeout
        let tag = allocateTag()
        pending[tag] = .awaiting(nil)
        do {
            try await send(request, tag: tag)
        } catch {
            pending[tag] = nil
            throw error
        }
        let name = request.frameType.name
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Reply, Error>) in
                switch pending[tag] {
                case .arrived(let result)?:
                    pending[tag] = nil
                    cont.resume(with: result)
                case .awaiting?:
                    pending[tag] = .awaiting(cont)
                    timers[tag] = Task { [weak self] in
                        try? await Task.sleep(for: limit)
                        if Task.isCancelled { return }
                        await self?.resolve(tag, .failure(TetherError.timedOut(request: name, after: limit)))
                    }
                default:  // cancelled, or the session ended, before it parked
                    cont.resume(throwing: ended.map { TetherError.sessionEnded($0) } ?? CancellationError())
                }
            }
        } onCancel: {
            Task { await self.resolve(tag, .failure(CancellationError())) }
        }
    }

    /// Settles request `tag`: resumes its caller, or keeps the result until it parks.
    private func resolve(_ tag: UInt32, _ result: Result<Reply, Error>) {
        timers.removeValue(forKey: tag)?.cancel()
        switch pending[tag] {
        case .awaiting(let cont?)?:
            pending[tag] = nil
            cont.resume(with: result)
        case .awaiting(nil)?:
            pending[tag] = .arrived(result)
        case .download(let state)?:
            let outcome = result.map { _ in state.next }
            guard let cont = state.cont else {
                if state.outcome == nil { state.outcome = outcome }  // kept until it parks
                return
            }
            pending[tag] = nil
            state.cont = nil
            cont.resume(with: outcome)
        default:
            break  // a late reply to a request that timed out or was cancelled
        }
    }

    private func captureDone(after mark: Int, until: ContinuousClock.Instant, limit: Duration) async throws -> CaptureDone {
        if let found = recentCaptures.first(where: { $0.index > mark }) { return found.done }
        let id = subscriberID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<CaptureDone, Error>) in
                if let ended {
                    cont.resume(throwing: TetherError.sessionEnded(ended))
                    return
                }
                if let found = recentCaptures.first(where: { $0.index > mark }) {  // came meanwhile
                    cont.resume(returning: found.done)
                    return
                }
                if Task.isCancelled {
                    cont.resume(throwing: CancellationError())
                    return
                }
                captureWaiters[id] = (mark, cont)
                captureTimers[id] = Task { [weak self] in
                    try? await Task.sleep(until: until, clock: .continuous)
                    if Task.isCancelled { return }
                    await self?.failCaptureWaiter(id, TetherError.timedOut(request: "capture_done", after: limit))
                }
            }
        } onCancel: {
            Task { await self.failCaptureWaiter(id, CancellationError()) }
        }
    }

    private func failCaptureWaiter(_ id: Int, _ error: Error) {
        captureTimers.removeValue(forKey: id)?.cancel()
        captureWaiters.removeValue(forKey: id)?.cont.resume(throwing: error)
    }

    private func runDownload(_ transferID: UInt32, offset: UInt64, _ state: DownloadState) async throws -> UInt64 {
        let tag = allocateTag()
        pending[tag] = .download(state)
        do {
            try await send(.download(transferID: transferID, offset: offset), tag: tag)
        } catch {
            pending[tag] = nil
            throw error
        }
        let idle = options.downloadIdleTimeout
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<UInt64, Error>) in
                guard case .download? = pending[tag] else {  // cancelled before it parked
                    cont.resume(throwing: ended.map { TetherError.sessionEnded($0) } ?? CancellationError())
                    return
                }
                if let outcome = state.outcome {  // over before it parked
                    pending[tag] = nil
                    cont.resume(with: outcome)
                    return
                }
                state.cont = cont
                timers[tag] = Task { [weak self] in
                    // Fails the download once no chunk has come for `idle`.
                    var wake = ContinuousClock.now + idle
                    while !Task.isCancelled {
                        try? await Task.sleep(until: wake, clock: .continuous)
                        guard let self, !Task.isCancelled else { return }
                        guard let last = await self.downloadActivity(tag) else { return }
                        if ContinuousClock.now - last >= idle {
                            await self.resolve(tag, .failure(TetherError.timedOut(request: "download", after: idle)))
                            return
                        }
                        wake = last + idle
                    }
                }
            }
        } onCancel: {
            Task { await self.resolve(tag, .failure(CancellationError())) }
        }
    }

    private func downloadActivity(_ tag: UInt32) -> ContinuousClock.Instant? {
        if case .download(let state)? = pending[tag] { return state.lastActivity }
        return nil
    }

    private func chunk(_ c: ImageChunk, tag: UInt32) {
        guard case .download(let state)? = pending[tag], state.outcome == nil else { return }
        guard c.offset == state.next else {
            resolve(tag, .failure(TetherError.protocolViolation(
                "image_chunk at offset \(c.offset), expected \(state.next)")))
            return
        }
        do {
            switch state.sink {
            case .memory(var data):
                state.sink = .memory(Data())  // keep one reference: append in place
                data.append(c.data)
                state.sink = .memory(data)
            case .file(let handle):
                try handle.write(contentsOf: c.data)
            }
        } catch {
            resolve(tag, .failure(error))
            return
        }
        state.next = c.offset + UInt64(c.data.count)
        state.lastActivity = .now
        state.progress?(DownloadProgress(receivedBytes: state.next, totalBytes: c.totalSize))
        if c.isLast { resolve(tag, .success(Reply(message: .ok, capturesSeen: capturesSeen))) }
    }

    // MARK: - Inside: live view

    fileprivate func nextFrame(_ id: Int, maxInFlight: Int?, acknowledging previous: UInt32?) async throws -> LiveViewFrame? {
        if let ended { throw TetherError.sessionEnded(ended) }
        if live?.id != id {
            // A sequence that was stopped, or replaced by a newer one, is over.
            if id <= lastLiveID { return nil }
            // This sequence takes over; an older one's waiting `next()` ends.
            if let old = live { live = nil; finishLiveWaiter(old, with: nil) }
            lastLiveID = id
            live = LiveState(id: id, maxInFlight: maxInFlight)
            do {
                let reply = try await roundTrip(.startLiveView(maxInFlight: maxInFlight), timeout: nil)
                guard case .ok = reply.message else { throw unexpected(reply, "start_live_view") }
            } catch {
                if live?.id == id { live = nil }
                throw error
            }
            guard live?.id == id else { return nil }
            live?.started = true
        }
        if let previous, maxInFlight != nil {
            try await send(.liveViewAck(sequence: previous), tag: 0)
        }
        guard var state = live, state.id == id else { return nil }
        if let frame = state.slot {
            live?.slot = nil
            return frame
        }
        if state.waiter != nil { throw TetherError.invalidRequest("live view: next() called concurrently") }
        let limit = options.liveViewFrameTimeout
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<LiveViewFrame?, Error>) in
                // Checked again here: a frame (or the end) may have come meanwhile, during
                // the ack's send, say. A waiter parked after the end would wait in vain.
                if let ended {
                    cont.resume(throwing: TetherError.sessionEnded(ended))
                    return
                }
                guard live?.id == id else {
                    if let ended { cont.resume(throwing: TetherError.sessionEnded(ended)) } else { cont.resume(returning: nil) }
                    return
                }
                state = live!
                if let frame = state.slot {
                    live?.slot = nil
                    cont.resume(returning: frame)
                    return
                }
                if Task.isCancelled {
                    cont.resume(throwing: CancellationError())
                    return
                }
                state.waiter = cont
                state.deadline = .now + limit
                state.timer = Task { [weak self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: limit)
                        guard let self, !Task.isCancelled else { return }
                        if await self.liveViewTimedOut(id, limit) { return }
                    }
                }
                live = state
            }
        } onCancel: {
            Task { await self.failLiveWaiter(id, CancellationError()) }
        }
    }

    /// Whether the frame wait of live view `id` is over (failed with a timeout now, or
    /// resolved before). No timeout while the camera is lost: frames resume when it is back.
    private func liveViewTimedOut(_ id: Int, _ limit: Duration) -> Bool {
        guard var state = live, state.id == id, state.waiter != nil, let deadline = state.deadline else { return true }
        if !cameraAttached {
            state.deadline = .now + limit
            live = state
            return false
        }
        guard ContinuousClock.now >= deadline else { return false }
        failLiveWaiter(id, TetherError.timedOut(request: "live_view_frame", after: limit))
        return true
    }

    private func failLiveWaiter(_ id: Int, _ error: Error) {
        guard var state = live, state.id == id, let cont = state.waiter else { return }
        state.waiter = nil
        state.timer?.cancel()
        state.timer = nil
        live = state
        cont.resume(throwing: error)
    }

    private func finishLiveWaiter(_ state: LiveState, with frame: LiveViewFrame?) {
        state.timer?.cancel()
        state.waiter?.resume(returning: frame)
    }

    private func frameArrived(_ frame: LiveViewFrame) {
        guard var state = live else { return }  // after stop_live_view: dropped
        if let cont = state.waiter {
            state.waiter = nil
            state.timer?.cancel()
            state.timer = nil
            live = state
            cont.resume(returning: frame)
        } else {
            state.slot = frame  // the newest replaces one not taken yet
            live = state
        }
    }

    fileprivate func endLiveView(_ id: Int) async {
        guard let state = live, state.id == id else { return }
        live = nil
        finishLiveWaiter(state, with: nil)
        guard ended == nil else { return }
        _ = try? await roundTrip(.stopLiveView, timeout: nil)
    }

    // MARK: - Inside: reading

    private func startReading(_ reader: FrameReader) {
        let connection = self.connection
        Task { [weak self] in
            var reader = reader
            var end: TransportError = .closedLocally
            do {
                while true {
                    while let frame = try reader.next() {
                        guard let self else { return }
                        await self.handle(frame)
                    }
                    if reader.hasEnded {
                        end = .closedByPeer
                        break
                    }
                    reader.append(try await connection.receive(atMost: 1 << 20, timeout: nil))
                }
            } catch let e as TransportError {
                end = e
            } catch {
                // A stream that cannot be framed any more: the session is over.
                end = .system("the camera's frames: \(error)", 0)
            }
            await self?.finish(end)
        }
    }

    private func handle(_ frame: Frame) {
        let message: Message
        do {
            message = try CameraCodec.decodeMessage(frame)
        } catch {
            // §3: a malformed reply fails its request; a malformed event is ignored.
            if frame.tag != 0 {
                resolve(frame.tag, .failure(TetherError.protocolViolation("\(error)")))
            }
            return
        }
        if frame.tag != 0 {
            switch message {
            case .imageChunk(let c): chunk(c, tag: frame.tag)
            case .error(let e): resolve(frame.tag, .failure(TetherError.camera(e)))
            default: resolve(frame.tag, .success(Reply(message: message, capturesSeen: capturesSeen)))
            }
            return
        }
        switch message {
        case .liveViewFrame(let f): frameArrived(f)
        case .liveViewStats(let s): for c in statsSubscribers.values { c.yield(s) }
        case .propertyChanged(let p): broadcast(.propertyChanged(p))
        case .captureDone(let d):
            capturesSeen += 1
            recentCaptures.append((capturesSeen, d))
            if recentCaptures.count > 8 { recentCaptures.removeFirst() }
            for (id, w) in captureWaiters where capturesSeen > w.after {
                captureWaiters[id] = nil
                captureTimers.removeValue(forKey: id)?.cancel()
                w.cont.resume(returning: d)
            }
            broadcast(.captureDone(d))
        case .cameraAttached(let model, let serial):
            cameraAttached = true
            broadcast(.cameraAttached(model: model, serial: serial))
        case .cameraLost(let reason):
            cameraAttached = false
            broadcast(.cameraLost(reason: reason))
        case .error(let e): broadcast(.error(e))
        default: break  // a newer camera's event, or a hello again: ignored (§3)
        }
    }

    private func broadcast(_ e: CameraEvent) {
        for c in eventSubscribers.values { c.yield(e) }
    }

    private func finish(_ reason: TransportError) {
        guard ended == nil else { return }
        ended = reason
        connection.close()
        let error = TetherError.sessionEnded(reason)
        for tag in Array(pending.keys) { resolve(tag, .failure(error)) }
        pending = [:]
        for (_, w) in captureWaiters { w.cont.resume(throwing: error) }
        captureWaiters = [:]
        for (_, t) in captureTimers { t.cancel() }
        captureTimers = [:]
        if var state = live, let cont = state.waiter {
            state.waiter = nil
            state.timer?.cancel()
            live = state
            cont.resume(throwing: error)
        }
        for c in eventSubscribers.values { c.finish() }
        for c in statsSubscribers.values { c.finish() }
        eventSubscribers = [:]
        statsSubscribers = [:]
        for w in endWaiters { w.resume(returning: reason) }
        endWaiters = []
    }
}

/// Live view of one session, as an `AsyncSequence` (``CameraSession/liveView(maxInFlight:)``).
public struct LiveViewFrames: AsyncSequence, Sendable {
    public typealias Element = LiveViewFrame
    let session: CameraSession
    let maxInFlight: Int?

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(subscription: Subscription(session: session, maxInFlight: maxInFlight))
    }

    /// Each `next()` acknowledges the frame it returned before and returns the newest
    /// frame. Throws ``TetherError`` when the session ends or no frame comes in time.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: Subscription
        var previous: UInt32? = nil
        var done = false

        public mutating func next() async throws -> LiveViewFrame? {
            guard !done else { return nil }
            do {
                let frame = try await subscription.session.nextFrame(
                    subscription.id, maxInFlight: subscription.maxInFlight, acknowledging: previous)
                previous = frame?.sequence
                if frame == nil { done = true }
                return frame
            } catch {
                done = true
                throw error
            }
        }
    }

    /// Stops live view when the iteration is over (its iterator goes away).
    final class Subscription: Sendable {
        let session: CameraSession
        let id: Int
        let maxInFlight: Int?

        init(session: CameraSession, maxInFlight: Int?) {
            self.session = session
            self.id = Subscription.counter.next()
            self.maxInFlight = maxInFlight
        }

        deinit {
            let (session, id) = (self.session, self.id)
            Task { await session.endLiveView(id) }
        }

        static let counter = Counter()
    }
}

/// A thread-safe increasing counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

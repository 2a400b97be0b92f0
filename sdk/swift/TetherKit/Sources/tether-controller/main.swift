// tether-controller: plays the iPhone app with TetherKit, on Linux or macOS. It listens on
// 127.0.0.1:PORT as the app does, waits for the board's tether-camera to connect, and
// drives the camera. It is also TetherKit's runnable example: each step below is what an
// app does, and prints one line of `key=value` fields.
import Foundation
import TetherKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let usage = """
usage: tether-controller [--port N] [--wait S] [--set NAME=VALUE]... [--autofocus]
                         [--live-view S [--max-in-flight N] [--slow-ms MS]] [--capture FILE]
       tether-controller [--port N] --watch S

Listens on 127.0.0.1:PORT (default 2350) like the iPhone app, waits up to --wait seconds
(default 60) for the board, prints the camera's hello and properties, then:
  --set NAME=VALUE     sets a property; prints the requested, applied and read-back values
  --autofocus          focuses
  --live-view S        live view for S seconds: fps and frame age (capture to hand-over;
                       meaningful when the camera runs on this machine's clock, as with
                       tether-sim), and the camera's live_view_stats
  --max-in-flight N    frames in flight before an ack (1-16, default 2; 0: no acks)
  --slow-ms MS         the consumer takes MS ms per frame
  --capture FILE       captures and downloads the picture to FILE, with progress
  --watch S            keeps the link for S seconds: prints its states and the camera's
                       events; SIGUSR1 suspends it (the app in the background), SIGUSR2
                       resumes it, SIGINT stops it
Exit status: 0 done, 1 the camera or the link failed, 2 usage.
"""

struct Options {
    var port: UInt16 = 2350
    var wait = 60.0
    var sets: [(String, String)] = []
    var autofocus = false
    var liveView: Double? = nil
    var maxInFlight = 2
    var slowMs = 0
    var capture: String? = nil
    var watch: Double? = nil
}

func fail(_ text: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("tether-controller: \(text)\n".utf8))
    exit(status)
}

func parse(_ args: [String]) -> Options {
    var o = Options()
    var it = args.makeIterator()
    func value(_ flag: String) -> String {
        guard let v = it.next() else { fail("\(flag) needs a value\n\(usage)", status: 2) }
        return v
    }
    func number(_ flag: String) -> Double {
        guard let n = Double(value(flag)), n >= 0 else { fail("\(flag) takes a number", status: 2) }
        return n
    }
    while let arg = it.next() {
        switch arg {
        case "--port":
            guard let port = UInt16(exactly: number(arg)) else { fail("--port takes 0-65535", status: 2) }
            o.port = port
        case "--wait": o.wait = number(arg)
        case "--set":
            let pair = value(arg).split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { fail("--set takes NAME=VALUE", status: 2) }
            o.sets.append((pair[0], pair[1]))
        case "--autofocus": o.autofocus = true
        case "--live-view": o.liveView = number(arg)
        case "--max-in-flight": o.maxInFlight = Int(number(arg))
        case "--slow-ms": o.slowMs = Int(number(arg))
        case "--capture": o.capture = value(arg)
        case "--watch": o.watch = number(arg)
        case "-h", "--help": print(usage); exit(0)
        default: fail("unknown option \(arg)\n\(usage)", status: 2)
        }
    }
    return o
}

/// One output line, written at once (a test reads them as they come).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// A value as a field: quoted when it has spaces or quotes, or is empty.
func q(_ s: String) -> String {
    if !s.isEmpty && !s.contains(where: { $0 == " " || $0 == "\"" || $0 == "\\" || $0 == "=" }) { return s }
    return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

func f1(_ x: Double) -> String { String(format: "%.1f", x) }

func inSeconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// Now on CLOCK_MONOTONIC, in µs: the clock tether-camera stamps its frames with.
func monotonicMicroseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
}

func describe(_ e: CameraEvent) -> String {
    switch e {
    case .propertyChanged(let p): return "event property_changed name=\(p.name) value=\(q(p.value))"
    case .captureDone(let d):
        return "event capture_done transfer_id=\(d.transferID) name=\(q(d.fileName)) size=\(d.size)"
    case .cameraAttached(let model, let serial):
        return "event camera_attached model=\(q(model)) serial=\(q(serial ?? ""))"
    case .cameraLost(let reason): return "event camera_lost reason=\(q(reason ?? ""))"
    case .error(let e): return "event error code=\(e.code.rawValue) message=\(q(e.message))"
    }
}

func describe(_ s: LinkState, session: Int) -> String {
    switch s {
    case .connected(let hello): return "state connected camera=\(q(hello.name)) session=\(session)"
    case .boardLost(let why): return "state board_lost reason=\(q(why))"
    case .failed(let why): return "state failed reason=\(q(why))"
    case .listening: return "state listening"
    case .suspended: return "state suspended"
    case .stopped: return "state stopped"
    }
}

/// Live view for `seconds`: what the consumer gets, then the camera's own figures.
func liveView(_ camera: CameraSession, seconds: Double, maxInFlight: Int, slowMs: Int) async throws {
    let stats = Task {
        for await s in await camera.liveViewStats() {
            say("camera_stats fps=\(f1(s.fps)) camera_fps=\(f1(s.cameraFps)) mean_age_ms=\(f1(s.meanAgeMs)) "
                + "max_age_ms=\(f1(s.maxAgeMs)) delivered=\(s.delivered) dropped=\(s.dropped)")
        }
    }
    var ages: [Double] = []
    var first: ContinuousClock.Instant? = nil
    var skipped: UInt32 = 0
    var last: UInt32? = nil
    for try await frame in camera.liveView(maxInFlight: maxInFlight == 0 ? nil : maxInFlight) {
        let now = ContinuousClock.now
        if let first {
            ages.append(Double(Int64(monotonicMicroseconds()) - Int64(frame.timestamp)) / 1000)
            if now - first >= .seconds(seconds) { break }
        } else {
            first = now
        }
        if let last { skipped += frame.sequence &- last &- 1 }
        last = frame.sequence
        if slowMs > 0 { try await Task.sleep(for: .milliseconds(slowMs)) }  // "decoding"
    }
    await camera.stopLiveView()
    stats.cancel()
    guard let first, !ages.isEmpty else { throw TetherError.protocolViolation("no live-view frames") }
    let secs = inSeconds(ContinuousClock.now - first)
    let half = ages.count / 2
    func mean(_ xs: ArraySlice<Double>) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
    say("live_view frames=\(ages.count) seconds=\(String(format: "%.2f", secs)) fps=\(f1(Double(ages.count) / secs)) "
        + "mean_age_ms=\(f1(mean(ages[...]))) max_age_ms=\(f1(ages.max()!)) "
        + "early_mean_age_ms=\(f1(mean(ages[..<half]))) late_mean_age_ms=\(f1(mean(ages[half...]))) "
        + "skipped=\(skipped) max_in_flight=\(maxInFlight) slow_ms=\(slowMs)")
}

/// --watch: the link's states and the camera's events until SIGINT or `seconds`.
func watch(_ link: CameraLink, seconds: Double) async {
    var sources: [DispatchSourceSignal] = []
    for (sig, action) in [(SIGUSR1, "suspend"), (SIGUSR2, "resume"), (SIGINT, "stop"), (SIGTERM, "stop")] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler {
            Task {
                switch action {
                case "suspend": await link.suspend()  // as the app's scene goes to the background
                case "resume": await link.resume()  // ... and becomes active again
                default:
                    await link.stop()
                    exit(0)
                }
            }
        }
        source.resume()
        sources.append(source)
    }
    Task {
        var sessions = 0
        for await s in await link.states() {
            if case .connected = s { sessions += 1 }
            say(describe(s, session: sessions))
        }
    }
    Task { for await e in await link.events() { say(describe(e)) } }
    try? await Task.sleep(for: .seconds(seconds))
    await link.stop()
    _ = sources
}

let o = parse(Array(CommandLine.arguments.dropFirst()))
let link = CameraLink(options: LinkOptions(port: o.port, name: "tether-controller"))
do {
    try await link.start()
    say("listening port=\(await link.listeningPort ?? o.port)")
    if let seconds = o.watch {
        await watch(link, seconds: seconds)
        exit(0)
    }
    let camera: CameraSession
    do {
        camera = try await link.connectedSession(timeout: .seconds(o.wait))
    } catch TetherError.timedOut {
        let port = await link.listeningPort ?? o.port
        fail("no board connected to 127.0.0.1:\(port) in \(f1(o.wait)) s: is tether-camera running on the "
            + "board, with the phone plugged in? The phone port it dials (its --port, default 2350) "
            + "must lead here (with tether-sim: --app 2350=127.0.0.1:\(port)). --wait waits longer.")
    }
    let hello = camera.cameraHello
    say("connected camera=\(q(hello.name)) version=\(camera.version) "
        + "capabilities=\(q(hello.capabilities.joined(separator: ",")))")
    for p in try await camera.properties() {
        say("property name=\(p.name) value=\(q(p.value)) writable=\(p.writable ? "yes" : "no") "
            + "allowed=\(q(p.allowed.joined(separator: ",")))")
    }
    for (name, value) in o.sets {
        let result = try await camera.setProperty(name, to: value)
        let readBack = try await camera.property(name).value
        say("set name=\(name) requested=\(q(result.requested)) applied=\(q(result.applied)) read_back=\(q(readBack))")
    }
    if o.autofocus {
        try await camera.autofocus()
        say("autofocus ok")
    }
    if let seconds = o.liveView {
        try await liveView(camera, seconds: seconds, maxInFlight: o.maxInFlight, slowMs: o.slowMs)
    }
    if let path = o.capture {
        let started = ContinuousClock.now
        let done = try await camera.capture()
        say("capture transfer_id=\(done.transferID) name=\(q(done.fileName)) size=\(done.size) mime=\(q(done.mimeType))")
        let bytes = try await camera.download(done.transferID, to: URL(fileURLWithPath: path)) { p in
            say("progress bytes=\(p.receivedBytes) total=\(p.totalBytes) percent=\(f1(p.fraction * 100))")
        }
        say("downloaded file=\(q(path)) bytes=\(bytes) seconds=\(String(format: "%.2f", inSeconds(.now - started)))")
    }
    await link.stop()
} catch TransportError.addressInUse(let port) {
    fail("127.0.0.1:\(port) is in use by another listener (another tether-controller, or the app "
        + "itself?): stop it, or choose another port with --port")
} catch {
    fail("\(error)")
}

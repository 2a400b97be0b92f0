import Foundation
import XCTest
@testable import TetherKit

/// Samples and helpers shared by the Wire*Tests.
enum WireFixtures {
    // MARK: Samples

    /// SOI, a comment segment "tether", EOI: shaped like a JPEG (the one PROTOCOL.md shows).
    static let tinyJPEG = Data([0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x08] + Array("tether".utf8) + [0xFF, 0xD9])

    /// `iso` as PROTOCOL.md's `properties` example has it.
    static let isoProperty = Property(name: "iso", value: "400",
                                      allowed: ["auto", "100", "200", "400", "800", "1600", "3200", "6400"],
                                      writable: true)

    /// Every request, with non-default fields where there are any, and its tag.
    static let requests: [(name: String, request: Request, tag: UInt32)] = [
        ("hello", .hello(Hello(role: .controller, name: "Studio iPhone", capabilities: ["live_view", "capture", "download"])), 0),
        ("hello_empty", .hello(Hello(role: .controller, name: "")), 0),
        ("unicode_name", .hello(Hello(role: .controller, name: "Zoë’s iPhone 📷")), 0),
        ("hello_v2", .hello(Hello(version: 2, role: .controller, name: "newer", capabilities: ["something_new"])), 0),
        ("get_properties", .getProperties(name: "iso"), 1),
        ("get_all_properties", .getProperties(), 6),
        ("set_property", .setProperty(name: "shutter_speed", value: "1/120"), 2),
        ("capture", .capture, 3),
        ("autofocus", .autofocus, 7),
        ("focus_step", .focusStep(direction: .far, size: .large), 8),
        ("focus_step_near", .focusStep(direction: .near, size: .medium), 8),
        ("start_live_view", .startLiveView(maxInFlight: 1), 9),
        ("start_live_view_16", .startLiveView(maxInFlight: 16), 9),
        ("start_live_view_unacknowledged", .startLiveView(), 9),
        ("stop_live_view", .stopLiveView, 10),
        ("download", .download(transferID: 7), 4),
        ("download_resume", .download(transferID: 0xFFFF_FFFF, offset: 1 << 32), 11),
        ("live_view_ack", .liveViewAck(sequence: 42), 0),
        ("live_view_ack_max", .liveViewAck(sequence: 0xFFFF_FFFF), 0),
    ]

    /// Every message, with non-default fields where there are any, and its tag.
    static let messages: [(name: String, message: Message, tag: UInt32)] = [
        ("hello_camera", .hello(Hello(role: .camera, name: "Canon EOS R6 via tether", capabilities: ["live_view", "focus_step"])), 0),
        ("properties", .properties([isoProperty]), 1),
        ("properties_empty", .properties([]), 1),
        ("properties_read_only", .properties([isoProperty, Property(name: "battery_level", value: "80%", writable: false)]), 1),
        ("property_set", .propertySet(PropertySet(name: "shutter_speed", requested: "1/120", applied: "1/125")), 2),
        ("ok", .ok, 3),
        ("error", .error(CameraProtocolError(code: .valueNotAllowed, message: "iso: 12800 is not an allowed value")), 5),
        ("error_event", .error(CameraProtocolError(code: .noCamera, message: "no camera attached")), 0),
        ("error_unknown_code", .error(CameraProtocolError(code: .unknown(42), message: "from a newer peer")), 3),
        ("property_changed", .propertyChanged(Property(name: "exposure_compensation", value: "+0.3",
                                                       allowed: ["-0.3", "0", "+0.3"], writable: false)), 0),
        ("capture_done", .captureDone(CaptureDone(transferID: 7, fileName: "IMG_0042.JPG", size: 6_021_120, mimeType: "image/jpeg")), 0),
        ("capture_done_4gib", .captureDone(CaptureDone(transferID: 0xFFFF_FFFF, fileName: "A.CR3", size: 1 << 32, mimeType: "image/x-canon-cr3")), 0),
        ("camera_attached", .cameraAttached(model: "Canon EOS R6", serial: "0123456789"), 0),
        ("camera_attached_empty_serial", .cameraAttached(model: "Canon EOS R6", serial: ""), 0),
        ("camera_attached_no_serial", .cameraAttached(model: "Canon EOS R6", serial: nil), 0),
        ("camera_lost", .cameraLost(reason: "USB device removed"), 0),
        ("camera_lost_no_reason", .cameraLost(reason: nil), 0),
        ("live_view_stats", .liveViewStats(LiveViewStats(fps: 29.5, cameraFps: 30, meanAgeMs: 12.25, maxAgeMs: 20.5, delivered: 30, dropped: 1)), 0),
        ("live_view_stats_fractions", .liveViewStats(LiveViewStats(fps: 0.1, cameraFps: 1e9, meanAgeMs: 1.0 / 3.0, maxAgeMs: 0, delivered: 1_000_000_000, dropped: 0)), 0),
        ("live_view_frame", .liveViewFrame(LiveViewFrame(sequence: 42, timestamp: 1_234_567_890, width: 1024, height: 576, jpeg: tinyJPEG)), 0),
        ("image_chunk", .imageChunk(ImageChunk(transferID: 7, offset: 0, totalSize: 6_021_120, data: Data([0xFF, 0xD8, 0xFF, 0xE1]))), 4),
        ("last_chunk", .imageChunk(ImageChunk(transferID: 3, offset: 10, totalSize: 12, data: Data([1, 2]))), 12),
        ("empty_file_chunk", .imageChunk(ImageChunk(transferID: 3, offset: 0, totalSize: 0, data: Data())), 12),
        ("unknown", .unknown(type: 150), 0),
    ]

    // MARK: Hand-made frames

    /// A control frame with a dictionary written here, past the codec (for what it would
    /// not write).
    static func plistFrame(_ type: FrameType, _ dict: [String: Any], tag: UInt32 = 1) -> Frame {
        Frame(type: type.rawValue, tag: tag, payload: plist(dict))
    }

    /// Any plist value as a binary plist.
    static func plist(_ value: Any) -> Data {
        try! PropertyListSerialization.data(fromPropertyList: value, format: .binary, options: 0)
    }

    // MARK: Decoding either side

    /// Decodes `frame` as the side that receives its type does: a request for a type
    /// the controller sends (hello: both, which must agree), a message otherwise.
    static func decode(_ frame: Frame) throws -> Any {
        let type = FrameType(rawValue: frame.type)
        if type == .hello {
            let r = try CameraCodec.decodeRequest(frame)
            let m = try CameraCodec.decodeMessage(frame)
            guard case .hello(let a) = r, case .hello(let b) = m, a == b else {
                XCTFail("hello decodes differently as a request and as a message")
                return r
            }
            return r
        }
        if let type, type.isSentByController { return try CameraCodec.decodeRequest(frame) }
        return try CameraCodec.decodeMessage(frame)
    }

    /// Asserts that `frame` is rejected with exactly `text` (kind `.malformed` unless told).
    static func expectRejected(_ frame: Frame, _ text: String, kind: WireError.Kind = .malformed,
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            let decoded = try decode(frame)
            XCTFail("decoded a frame that should be rejected with \"\(text)\": \(decoded)", file: file, line: line)
        } catch let e as WireError {
            XCTAssertEqual(e.message, text, file: file, line: line)
            XCTAssertEqual(e.kind, kind, file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    // MARK: Hex dumps

    /// The bytes of PROTOCOL.md-style dump lines: "OOOO  xx xx ... |ascii|". Each
    /// line's offset must be the count of bytes before it.
    static func parseDump(_ block: String) throws -> Data {
        var out = Data()
        for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
            var tokens = line.split(separator: " ", omittingEmptySubsequences: true)[...]
            guard let offset = tokens.popFirst(), let at = Int(offset, radix: 16), at == out.count else {
                throw DumpError("line \"\(line)\" does not start with the offset \(String(format: "%04x", out.count))")
            }
            var n = 0
            while let tok = tokens.first, !tok.hasPrefix("|") {
                guard tok.count == 2, let byte = UInt8(tok, radix: 16) else {
                    throw DumpError("\"\(tok)\" in line \"\(line)\" is not a hex byte")
                }
                out.append(byte)
                tokens.removeFirst()
                n += 1
            }
            guard n >= 1, n <= 16 else { throw DumpError("line \"\(line)\" has \(n) bytes") }
        }
        return out
    }

    /// `bytes` as PROTOCOL.md dumps them (offset, 16 hex bytes, ASCII column).
    static func dump(_ bytes: Data) -> String {
        let b = [UInt8](bytes)
        var out = ""
        for line in stride(from: 0, to: b.count, by: 16) {
            out += String(format: "%04x ", line)
            var ascii = ""
            for i in line..<line + 16 {
                if i < b.count {
                    out += String(format: " %02x", b[i])
                    ascii += (b[i] >= 0x20 && b[i] < 0x7F) ? String(UnicodeScalar(b[i])) : "."
                } else {
                    out += "   "
                }
            }
            out += "  |" + ascii + "|\n"
        }
        return out
    }

    struct DumpError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}

/// SplitMix64: a small deterministic generator, so a failing input can be found again
/// by its seed.
struct WirePRNG: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> Data {
        Data((0..<n).map { _ in UInt8.random(in: 0...255, using: &self) })
    }
}

import Foundation
import XCTest
@testable import TetherKit

/// Hostile byte streams: a deterministic generator makes thousands of inputs (random
/// bytes, real frames with bytes changed, plausible headers with random payloads) and
/// feeds them in random pieces to FrameReader and both decoders. Nothing may crash,
/// throw anything but a WireError, or hold more than one frame's bytes.
final class WireFuzzTests: XCTestCase {
    /// Frames to start from: every sample and every PROTOCOL.md example.
    private static let seeds: [Data] = {
        var out = WireFixtures.requests.map { CameraCodec.encode($0.request, tag: $0.tag).encode() }
        out += WireFixtures.messages.map { CameraCodec.encode($0.message, tag: $0.tag).encode() }
        if let doc = try? WireSpecExamplesTests.examplesInDocument() {
            out += doc.compactMap { try? WireFixtures.parseDump($0.block) }
        }
        return out
    }()

    private static let interestingTypes: [UInt32] = [0, 1, 99] + FrameType.allCases.map(\.rawValue) + [114, 125, 132, 0xFFFF_FFFF]

    /// TETHERKIT_FUZZ_SEED and TETHERKIT_FUZZ_ROUNDS (a factor) run other and more
    /// inputs than the fixed ones, to look for trouble beyond them.
    private static func seed(_ fixed: UInt64) -> UInt64 {
        ProcessInfo.processInfo.environment["TETHERKIT_FUZZ_SEED"].flatMap { UInt64($0) }.map { $0 ^ fixed } ?? fixed
    }
    private static func rounds(_ n: Int) -> Int {
        n * (ProcessInfo.processInfo.environment["TETHERKIT_FUZZ_ROUNDS"].flatMap { Int($0) } ?? 1)
    }

    private struct Tally {
        var frames = 0, decoded = 0, rejected = 0, streamErrors = 0
    }

    /// One input: a few pieces of different kinds, one after another.
    private func makeStream(_ rng: inout WirePRNG) -> Data {
        var out = Data()
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0:
                out += rng.bytes(Int.random(in: 0...300, using: &rng))
            case 1:
                out += Self.seeds.randomElement(using: &rng)!
            case 2, 3:
                // A real frame with a few bytes changed: mostly in the payload, where the
                // plist parser and the bulk headers get them.
                var f = Self.seeds.randomElement(using: &rng)!
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    let at = Bool.random(using: &rng) && f.count > 16
                        ? Int.random(in: 16..<f.count, using: &rng) : Int.random(in: 0..<f.count, using: &rng)
                    f[at] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : f[at] ^ (1 << UInt8.random(in: 0...7, using: &rng))
                }
                out += f
            case 4:
                // A plausible header and a random payload, half of them shaped like a plist.
                var payload = Bool.random(using: &rng) ? Data("bplist00".utf8) : Data()
                payload += rng.bytes(Int.random(in: 0...200, using: &rng))
                let version: UInt32 = Int.random(in: 0..<20, using: &rng) == 0 ? 2 : 1
                var h = Data()
                for v in [version, Self.interestingTypes.randomElement(using: &rng)!, UInt32.random(in: 0...3, using: &rng),
                          UInt32(payload.count)] { WireBytes.append(v, to: &h) }
                out += h + payload
            default:
                // A real frame cut short, or announcing a different size.
                var f = Self.seeds.randomElement(using: &rng)!
                if Bool.random(using: &rng) {
                    f = f.prefix(Int.random(in: 0..<f.count, using: &rng))
                } else if f.count >= 16 {
                    var size = Data()
                    WireBytes.append(UInt32.random(in: 0...5000, using: &rng), to: &size)
                    f.replaceSubrange(12..<16, with: size)
                }
                out += f
            }
        }
        return out
    }

    private func decodeBothWays(_ frame: Frame, _ tally: inout Tally) {
        tally.frames += 1
        let decoders: [() throws -> Void] = [{ _ = try CameraCodec.decodeRequest(frame) },
                                             { _ = try CameraCodec.decodeMessage(frame) }]
        for decode in decoders {
            do {
                try decode()
                tally.decoded += 1
            } catch is WireError {
                tally.rejected += 1
            } catch {
                XCTFail("a decoder threw something other than a WireError: \(error)")
            }
        }
    }

    func testRandomStreamsInRandomPiecesNeverCrashOrOverBuffer() {
        var rng = WirePRNG(seed: Self.seed(0x7E7E_4E12))
        var tally = Tally()
        for input in 0..<Self.rounds(4000) {
            let stream = makeStream(&rng)
            // Most readers with a small bound, so random sizes complete; some with the real one.
            let bound = input % 5 == 0 ? Frame.maxPayloadSize : 4096
            var reader = FrameReader(maxPayloadSize: bound)
            var at = 0
            var failed = false
            while at < stream.count && !failed {
                let maxPiece = [1, 7, 64, 2000].randomElement(using: &rng)!
                let n = min(Int.random(in: 1...maxPiece, using: &rng), stream.count - at)
                reader.append(stream.subdata(in: at..<at + n))
                at += n
                do {
                    while let frame = try reader.next() { decodeBothWays(frame, &tally) }
                } catch is WireError {
                    tally.streamErrors += 1
                    failed = true
                } catch {
                    XCTFail("input \(input): FrameReader threw \(error)")
                    failed = true
                }
                // Drained: at most the one frame being assembled.
                XCTAssertLessThanOrEqual(reader.bufferedByteCount, Frame.headerSize + bound, "input \(input)")
                if failed { XCTAssertEqual(reader.bufferedByteCount, 0, "input \(input)") }
            }
            if !failed {
                do {
                    try reader.finish()
                    XCTAssertTrue(reader.isAtFrameBoundary || reader.hasEnded, "input \(input)")
                } catch let e as WireError {
                    XCTAssertEqual(e.kind, .truncated, "input \(input)")
                } catch {
                    XCTFail("input \(input): finish threw \(error)")
                }
            }
        }
        // The generator reaches every outcome.
        XCTAssertGreaterThan(tally.frames, 3000)
        XCTAssertGreaterThan(tally.decoded, 1000)
        XCTAssertGreaterThan(tally.rejected, 1000)
        XCTAssertGreaterThan(tally.streamErrors, 100)
    }

    func testRandomPayloadsOfEveryType() {
        var rng = WirePRNG(seed: Self.seed(42))
        var tally = Tally()
        for _ in 0..<Self.rounds(3000) {
            let type = Self.interestingTypes.randomElement(using: &rng)!
            var payload = rng.bytes(Int.random(in: 0...64, using: &rng))
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: payload = Data("bplist00".utf8) + payload
            case 1: payload = Data([0xFF, 0xD8]) + payload  // past a bulk header's size check sometimes
            default: break
            }
            decodeBothWays(Frame(type: type, tag: UInt32.random(in: 0...2, using: &rng), payload: payload), &tally)
        }
        XCTAssertEqual(tally.frames, Self.rounds(3000))
    }

    func testMutatedPlistPayloads() throws {
        // Real control payloads with bytes changed, often in the trailer and the offset
        // table, where a binary plist says where its objects are.
        var rng = WirePRNG(seed: Self.seed(1982))
        var tally = Tally()
        var reader = FrameReader()
        let plists = Self.seeds.compactMap { bytes -> Frame? in
            reader.append(bytes)
            guard let f = try? reader.next(), f.payload.starts(with: Data("bplist00".utf8)) else { return nil }
            return f
        }
        XCTAssertGreaterThan(plists.count, 30)
        for _ in 0..<Self.rounds(20000) {
            var f = plists.randomElement(using: &rng)!
            let n = f.payload.count
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Bool.random(using: &rng) ? Int.random(in: max(8, n - 48)..<n, using: &rng) : Int.random(in: 8..<n, using: &rng)
                f.payload[at] = Int.random(in: 0..<3, using: &rng) == 0
                    ? [0x00, 0x01, 0x7F, 0x80, 0xFF].randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            decodeBothWays(f, &tally)
        }
        XCTAssertGreaterThan(tally.decoded, 0)
        XCTAssertGreaterThan(tally.rejected, 0)
    }

    // MARK: - Plists shaped to cost

    /// A binary plist with 4-byte offsets and references: `objects` are raw objects
    /// (marker and bytes), references written by `ref`.
    private func plist(_ objects: [[UInt8]], top: Int = 0) -> Data {
        var d = Data("bplist00".utf8)
        var offsets: [UInt32] = []
        for o in objects {
            offsets.append(UInt32(d.count))
            d += o
        }
        let table = d.count
        for o in offsets { WireBytes.append(o, to: &d) }
        d += Data(repeating: 0, count: 6) + Data([4, 4])
        WireBytes.append(UInt64(objects.count), to: &d)
        WireBytes.append(UInt64(top), to: &d)
        WireBytes.append(UInt64(table), to: &d)
        return d
    }

    private func ref(_ r: Int) -> [UInt8] { [UInt8(r >> 24 & 0xFF), UInt8(r >> 16 & 0xFF), UInt8(r >> 8 & 0xFF), UInt8(r & 0xFF)] }

    /// {"Extra": a0}, where a(i) is an array holding a(i+1) `width` times, `levels`
    /// deep, ending in the string "x". Shared, so the payload stays small.
    private func nested(levels: Int, width: Int) -> Data {
        var objects: [[UInt8]] = [[0xD1] + ref(1) + ref(2), [0x55] + Array("Extra".utf8)]
        for i in 0..<levels {
            objects.append([0xA0 | UInt8(width)] + (0..<width).flatMap { _ in ref(2 + i + 1) })
        }
        objects.append([0x51, UInt8(ascii: "x")])
        return plist(objects)
    }

    func testSharedObjectsCannotExpandWithoutBound() throws {
        // 2^400 objects once expanded, in 6 KB: refused at once.
        let bomb = nested(levels: 400, width: 2)
        XCTAssertLessThan(bomb.count, 6000)
        let start = Date()
        WireFixtures.expectRejected(Frame(type: 123, payload: bomb), "camera_lost: binary plist nests more than 64 levels")
        WireFixtures.expectRejected(Frame(type: 123, payload: nested(levels: 40, width: 2)),
                                    "camera_lost: binary plist expands to more than 131072 objects")
        WireFixtures.expectRejected(Frame(type: 123, payload: nested(levels: 5, width: 14)),
                                    "camera_lost: binary plist expands to more than 131072 objects")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        // Small enough: parsed, and the unknown key ignored.
        XCTAssertEqual(try CameraCodec.decodeMessage(Frame(type: 123, payload: nested(levels: 10, width: 2))), .cameraLost(reason: nil))
        XCTAssertEqual(try CameraCodec.decodeMessage(Frame(type: 123, payload: nested(levels: 60, width: 1))), .cameraLost(reason: nil))
        WireFixtures.expectRejected(Frame(type: 123, payload: nested(levels: 100, width: 1)),
                                    "camera_lost: binary plist nests more than 64 levels")
    }

    func testBrokenObjectTables() {
        // An array that holds itself.
        WireFixtures.expectRejected(Frame(type: 123, payload: plist([[0xD1] + ref(1) + ref(2), [0x55] + Array("Extra".utf8), [0xA1] + ref(2)])),
                                    "camera_lost: binary plist does not parse")
        // A reference past the table, a top object past it, an offset past it.
        WireFixtures.expectRejected(Frame(type: 123, payload: plist([[0xD1] + ref(1) + ref(9), [0x55] + Array("Extra".utf8)])),
                                    "camera_lost: binary plist does not parse")
        WireFixtures.expectRejected(Frame(type: 123, payload: plist([[0xD0]], top: 1)), "camera_lost: binary plist does not parse")
        var p = plist([[0xD0]])
        p[p.count - 32 - 1] = 0xFF  // the offset of object 0
        WireFixtures.expectRejected(Frame(type: 123, payload: p), "camera_lost: binary plist does not parse")
        // A count that claims more references than there are bytes.
        WireFixtures.expectRejected(Frame(type: 123, payload: plist([[0xDF, 0x13, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]])),
                                    "camera_lost: binary plist does not parse")
        // Values no property list of the protocol holds, even under an unknown key: a set
        // (Linux's Foundation crashed bridging one the fuzz test made), a UID, a null.
        let foreign = "camera_lost: binary plist holds a value that is not a boolean, number, date, data, string, array or dictionary"
        for value: [UInt8] in [[0xC1] + ref(3), [0x80, 0x01], [0x00], [0x0F], [0x70], [0xB0], [0xE0], [0xF0]] {
            WireFixtures.expectRejected(Frame(type: 123, payload: plist([[0xD1] + ref(1) + ref(2), [0x55] + Array("Extra".utf8),
                                                                          value, [0x51, 0x78]])), foreign)
        }
        WireFixtures.expectRejected(Frame(type: 123, payload: plist([[0xC0]])), foreign)
        // A dictionary key that is not a string.
        WireFixtures.expectRejected(Frame(type: 123, payload: plist([[0xD1] + ref(1) + ref(1), [0x10, 0x07]])),
                                    "camera_lost: binary plist has a dictionary key that is not a string")
        WireFixtures.expectRejected(Frame(type: 123, payload: plist([[0xD1] + ref(1) + ref(1), [0xA0]])),
                                    "camera_lost: binary plist has a dictionary key that is not a string")
        // What a plist may hold, under unknown keys: ignored.
        let values: [[UInt8]] = [[0x08], [0x09], [0x10, 0x01], [0x13] + [UInt8](repeating: 0xFF, count: 8),
                                 [0x22, 0x41, 0xEC, 0x00, 0x00], [0x33] + [UInt8](repeating: 0, count: 8),
                                 [0x42, 0xAB, 0xCD], [0x51, 0x78], [0x61, 0x00, 0x78], [0xA0], [0xD0]]
        for value in values {
            XCTAssertEqual(try CameraCodec.decodeMessage(Frame(type: 123, payload: plist([[0xD1] + ref(1) + ref(2), [0x55] + Array("Extra".utf8), value]))),
                           .cameraLost(reason: nil), "\(value)")
        }
        // The empty dictionary, hand-made: fine.
        XCTAssertEqual(try CameraCodec.decodeMessage(Frame(type: 123, payload: plist([[0xD0]]))), .cameraLost(reason: nil))
    }

    func testTheLargestMessagesPassTheShapeCheck() throws {
        // 64 properties of 256 allowed values: about 17,000 objects.
        let props = (0..<64).map { i in
            Property(name: "p\(i)", value: "v", allowed: (0..<256).map { "\(i)_\($0)" })
        }
        let frame = CameraCodec.encode(Message.properties(props), tag: 1)
        XCTAssertLessThanOrEqual(frame.payload.count, WireLimits.maxPlistPayload)
        XCTAssertEqual(try CameraCodec.decodeMessage(frame), .properties(props))
    }
}

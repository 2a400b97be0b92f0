import Foundation
import XCTest
@testable import TetherKit

/// PeerTalk framing (PROTOCOL.md §2): Frame and FrameReader, with broken and hostile streams.
final class WireFrameTests: XCTestCase {
    private func header(version: UInt32 = 1, type: UInt32, tag: UInt32 = 0, size: UInt32) -> Data {
        var d = Data()
        for v in [version, type, tag, size] { WireBytes.append(v, to: &d) }
        return d
    }

    func testFrameEncodesItsHeaderBigEndian() {
        let f = Frame(type: 0x0102_0304, tag: 0xA0B0_C0D0, payload: Data([9, 8, 7]))
        XCTAssertEqual([UInt8](f.encode()), [0, 0, 0, 1, 1, 2, 3, 4, 0xA0, 0xB0, 0xC0, 0xD0, 0, 0, 0, 3, 9, 8, 7])
        XCTAssertEqual(Frame.header(type: 111, tag: 3, payloadSize: 42), header(type: 111, tag: 3, size: 42))
        XCTAssertEqual(Frame(type: 111).encode().count, Frame.headerSize)
    }

    func testFramesComeOutWhateverThePieces() throws {
        let frames = [Frame(type: 111, tag: 1, payload: Data("first".utf8)),
                      Frame(type: 130, tag: 0, payload: Data()),
                      Frame(type: 112, tag: 0xFFFF_FFFF, payload: Data(repeating: 0xAB, count: 1000))]
        let stream = frames.reduce(Data()) { $0 + $1.encode() }
        // Every split into two pieces, and byte by byte.
        for cut in 0...stream.count {
            var r = FrameReader()
            var got: [Frame] = []
            for piece in [stream.prefix(cut), stream.suffix(from: cut)] {
                r.append(piece)  // slices: their indices do not start at 0
                while let f = try r.next() { got.append(f) }
            }
            XCTAssertEqual(got, frames, "cut at \(cut)")
            XCTAssertTrue(r.isAtFrameBoundary)
            XCTAssertNoThrow(try r.finish())
        }
        var r = FrameReader()
        var got: [Frame] = []
        for b in stream {
            r.append(Data([b]))
            while let f = try r.next() { got.append(f) }
        }
        XCTAssertEqual(got, frames)
        // Payloads come out as Data that starts at index 0.
        XCTAssertTrue(got.allSatisfy { $0.payload.startIndex == 0 })
    }

    func testManyAppendsBeforeNext() throws {
        var r = FrameReader()
        let f = Frame(type: 111, tag: 5, payload: Data([1, 2, 3]))
        for _ in 0..<100 { r.append(f.encode()) }
        XCTAssertEqual(r.bufferedByteCount, 100 * 19)
        var n = 0
        while let g = try r.next() {
            XCTAssertEqual(g, f)
            n += 1
        }
        XCTAssertEqual(n, 100)
        XCTAssertEqual(r.bufferedByteCount, 0)
    }

    func testTruncatedHeadersAndPayloads() throws {
        let whole = Frame(type: 111, tag: 1, payload: Data(repeating: 1, count: 10)).encode()
        for n in 1..<Frame.headerSize {
            var r = FrameReader()
            r.append(whole.prefix(n))
            XCTAssertNil(try r.next())
            XCTAssertEqual(r.bufferedByteCount, n)
            XCTAssertThrowsError(try r.finish()) { e in
                XCTAssertEqual(e as? WireError, WireError(.truncated, "stream ended after \(n) of the 16 bytes of a PeerTalk frame header"))
            }
        }
        var r = FrameReader()
        r.append(whole.prefix(19))
        XCTAssertNil(try r.next())
        XCTAssertThrowsError(try r.finish()) { e in
            XCTAssertEqual((e as? WireError)?.message, "stream ended after 3 of 10 payload bytes of a PeerTalk frame of type 111")
            XCTAssertEqual((e as? WireError)?.endsChannel, true)
        }
        // Nothing held: a clean end.
        XCTAssertNoThrow(try FrameReader().finish())
    }

    func testVersionTwoEndsTheStreamAfterTheFramesBeforeIt() throws {
        var r = FrameReader()
        let good = Frame(type: 111, tag: 1)
        r.append(good.encode() + header(version: 2, type: 111, size: 0) + good.encode())
        XCTAssertEqual(try r.next(), good)
        let expected = WireError(.badVersion, "PeerTalk frame header has version 2, expected 1 (is the peer speaking PeerTalk?)")
        XCTAssertThrowsError(try r.next()) { XCTAssertEqual($0 as? WireError, expected) }
        // Sticky: the stream cannot be framed any more, and nothing more is kept.
        XCTAssertThrowsError(try r.next()) { XCTAssertEqual($0 as? WireError, expected) }
        r.append(good.encode())
        XCTAssertEqual(r.bufferedByteCount, 0)
        XCTAssertThrowsError(try r.next()) { XCTAssertEqual($0 as? WireError, expected) }
        XCTAssertThrowsError(try r.finish())
        // Version 0 and 0xFFFFFFFF likewise.
        for v: UInt32 in [0, 0xFFFF_FFFF] {
            var r = FrameReader()
            r.append(header(version: v, type: 100, size: 0))
            XCTAssertThrowsError(try r.next()) { XCTAssertEqual(($0 as? WireError)?.kind, .badVersion) }
        }
    }

    func testAPayloadOverSixteenMiBIsRefusedAtItsHeader() throws {
        var r = FrameReader()
        r.append(header(type: 130, size: UInt32(Frame.maxPayloadSize + 1)))
        let expected = WireError(.payloadTooLarge, "PeerTalk frame of type 130 announces 16777217 payload bytes, more than the limit of 16777216")
        XCTAssertThrowsError(try r.next()) { XCTAssertEqual($0 as? WireError, expected) }
        XCTAssertEqual(r.bufferedByteCount, 0)
        r.append(Data(count: 1 << 20))  // the payload that follows is dropped
        XCTAssertEqual(r.bufferedByteCount, 0)
        XCTAssertThrowsError(try r.next()) { XCTAssertEqual($0 as? WireError, expected) }
        // The largest header value, too.
        var big = FrameReader()
        big.append(header(type: 131, size: 0xFFFF_FFFF))
        XCTAssertThrowsError(try big.next()) { XCTAssertEqual(($0 as? WireError)?.kind, .payloadTooLarge) }
    }

    func testExactlySixteenMiBIsTakenAndHeldOnlyAsItArrives() throws {
        var r = FrameReader()
        r.append(header(type: 131, tag: 4, size: UInt32(Frame.maxPayloadSize)))
        XCTAssertNil(try r.next())
        XCTAssertEqual(r.bufferedByteCount, Frame.headerSize)
        let piece = Data(repeating: 0x5A, count: 1 << 20)
        for i in 0..<16 {
            r.append(piece)
            if i < 15 {
                XCTAssertNil(try r.next())
                XCTAssertEqual(r.bufferedByteCount, Frame.headerSize + (i + 1) << 20)
                XCTAssertLessThanOrEqual(r.bufferedByteCount, Frame.headerSize + r.maxPayloadSize)
            }
        }
        let f = try XCTUnwrap(try r.next())
        XCTAssertEqual(f.payload.count, Frame.maxPayloadSize)
        XCTAssertEqual(f.tag, 4)
        XCTAssertEqual(r.bufferedByteCount, 0)
    }

    func testASmallerBound() throws {
        var r = FrameReader(maxPayloadSize: 10)
        r.append(header(type: 111, size: 10) + Data(count: 10) + header(type: 111, size: 11))
        XCTAssertEqual(try r.next()?.payload.count, 10)
        XCTAssertThrowsError(try r.next()) { e in
            XCTAssertEqual((e as? WireError)?.message, "PeerTalk frame of type 111 announces 11 payload bytes, more than the limit of 10")
        }
    }

    func testEndOfStreamFrameEndsTheStream() throws {
        var r = FrameReader()
        let eos = Frame(type: Frame.endOfStreamType)
        r.append(Frame(type: 111, tag: 1).encode() + eos.encode() + Frame(type: 111, tag: 2).encode())
        XCTAssertEqual(try r.next()?.tag, 1)
        XCTAssertEqual(try r.next(), eos)
        XCTAssertTrue(r.hasEnded)
        XCTAssertNil(try r.next())
        r.append(Data([1, 2, 3]))
        XCTAssertEqual(r.bufferedByteCount, 0)
        XCTAssertNoThrow(try r.finish())
        // Type 0 is not a message, either way round.
        let decoders: [() throws -> Void] = [{ _ = try CameraCodec.decodeMessage(eos) },
                                             { _ = try CameraCodec.decodeRequest(eos) }]
        for decode in decoders {
            XCTAssertThrowsError(try decode()) { e in
                XCTAssertEqual(e as? WireError, WireError(.endOfStream, "end of stream (frame type 0) is not a message: close the channel"))
            }
        }
    }

    func testWireErrorsSayWhatToDo() {
        XCTAssertEqual(WireError(.malformed, "x").errorCode, .badRequest)
        XCTAssertEqual(WireError(.unsupportedType, "x").errorCode, .notSupported)
        XCTAssertFalse(WireError(.malformed, "x").endsChannel)
        XCTAssertTrue(WireError(.badVersion, "x").endsChannel)
        XCTAssertEqual(WireError(.malformed, "set_property: Value is missing").localizedDescription, "set_property: Value is missing")
        XCTAssertEqual("\(WireError(.malformed, "hello: Role is missing"))", "hello: Role is missing")
    }
}

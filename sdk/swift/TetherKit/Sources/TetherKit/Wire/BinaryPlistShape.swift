import Foundation

// Why this exists: Linux's Foundation is not safe with hostile binary plists, and a peer
// must not be able to stop a controller with one frame.
//
// - A binary plist is a table of objects that refer to each other by number, so one
//   array can be referred to many times. Linux's Foundation copies every reference out
//   in full when it makes Swift values: 24 levels of an array holding the next one twice
//   is a 345-byte payload that takes seconds, and 400 levels never finish.
// - The format also has sets, UIDs and nulls, which no property list of this protocol
//   holds; Linux's Foundation crashes bridging some of them (a set found by the fuzz test
//   ended in a null pointer in Set bridging).
//
// So before PropertyListSerialization sees a payload, this walks the object table once
// (without recursion) and refuses one that holds anything but booleans, integers,
// reals, dates, data, strings, arrays and dictionaries with string keys, or that would
// expand to more objects, or nest more deeply, than any message of the protocol needs.
// The largest message, a `properties` reply of 64 properties of 256 allowed values, is
// about 17,000 objects and 5 levels.

/// A check of a binary plist's object table, before it is parsed.
enum BinaryPlistShape {
    /// Objects the payload may expand to, counting every reference in full.
    static let maxObjects = 1 << 17
    /// Levels of arrays and dictionaries within each other.
    static let maxDepth = 64

    /// What is wrong with `plist` (which starts with "bplist00"), or nil. A plist this
    /// passes may still fail to parse; one it refuses would not parse, would hold values
    /// no message has, or would cost more than a message can.
    static func problem(in plist: Data) -> String? {
        plist.withUnsafeBytes { raw in
            guard let walk = Walk(raw.bindMemory(to: UInt8.self)) else { return broken }
            return walk.problem()
        }
    }

    static let broken = "binary plist does not parse"
    static let foreign = "binary plist holds a value that is not a boolean, number, date, data, string, array or dictionary"
    static let badKey = "binary plist has a dictionary key that is not a string"

    /// The layout of one plist, read from its trailer: a binary plist is the 8-byte
    /// header, the objects, an offset table, and a 32-byte trailer.
    private struct Walk {
        let b: UnsafeBufferPointer<UInt8>
        let offsetSize: Int
        let refSize: Int
        let objectCount: Int
        let top: Int
        let tableOffset: Int

        /// nil when the trailer does not describe a table inside the bytes.
        init?(_ b: UnsafeBufferPointer<UInt8>) {
            self.b = b
            let trailerSize = 32
            guard b.count >= 8 + 1 + trailerSize else { return nil }
            let t = b.count - trailerSize
            offsetSize = Int(b[t + 6])
            refSize = Int(b[t + 7])
            guard (1...8).contains(offsetSize), (1...8).contains(refSize),
                  let count = BinaryPlistShape.int(b, at: t + 8, size: 8),
                  let top = BinaryPlistShape.int(b, at: t + 16, size: 8),
                  let table = BinaryPlistShape.int(b, at: t + 24, size: 8),
                  count >= 1, top < count, table >= 8, table <= t,
                  count <= (t - table) / offsetSize
            else { return nil }
            objectCount = count
            self.top = top
            tableOffset = table
        }

        /// Where object `n` starts.
        func offset(of n: Int) -> Int? {
            guard let o = BinaryPlistShape.int(b, at: tableOffset + n * offsetSize, size: offsetSize),
                  o >= 8, o < tableOffset else { return nil }
            return o
        }

        /// The objects an array or dictionary refers to (a dictionary: keys, then
        /// values); [] for a value that holds none; or what is wrong.
        func children(of n: Int) -> Result<[Int], Problem> {
            guard let start = offset(of: n) else { return .failure(.init(broken)) }
            let marker = b[start]
            switch marker >> 4 {
            case 0x0:
                return marker == 0x08 || marker == 0x09 ? .success([]) : .failure(.init(foreign))  // false, true
            case 0x1, 0x2, 0x3, 0x4, 0x5, 0x6:
                // integer, real, date, data, ASCII string, UTF-16 string: Foundation checks their bytes.
                return .success([])
            case 0xA, 0xD:
                break
            default:
                return .failure(.init(foreign))  // UID, set, and markers no plist uses
            }
            var count = Int(marker & 0x0F)
            var at = start + 1
            if count == 0x0F {
                // The count follows as an integer object: 0x1n, then 2^n bytes.
                guard at < tableOffset, b[at] >> 4 == 0x1 else { return .failure(.init(broken)) }
                let size = 1 << Int(b[at] & 0x0F)
                guard size <= 8, at + 1 + size <= tableOffset,
                      let c = BinaryPlistShape.int(b, at: at + 1, size: size) else { return .failure(.init(broken)) }
                count = c
                at += 1 + size
            }
            let isDictionary = marker >> 4 == 0xD
            let refs = isDictionary ? 2 : 1
            guard count <= (tableOffset - at) / refSize / refs else { return .failure(.init(broken)) }
            var out: [Int] = []
            out.reserveCapacity(count * refs)
            for i in 0..<(count * refs) {
                guard let r = BinaryPlistShape.int(b, at: at + i * refSize, size: refSize), r < objectCount
                else { return .failure(.init(broken)) }
                if isDictionary && i < count {
                    guard let keyAt = offset(of: r) else { return .failure(.init(broken)) }
                    let kind = b[keyAt] >> 4
                    if kind != 0x5 && kind != 0x6 { return .failure(.init(badKey)) }
                }
                out.append(r)
            }
            return .success(out)
        }

        /// Depth first, with a stack instead of recursion. Each object's expanded size
        /// and depth are worked out once; a reference back to an object still open is a
        /// cycle, which no plist may have.
        func problem() -> String? {
            var size = [Int](repeating: 0, count: objectCount)  // 0: not done yet
            var depth = [Int](repeating: 0, count: objectCount)
            var open = [Bool](repeating: false, count: objectCount)
            var stack: [(object: Int, children: [Int], next: Int)] = []
            switch children(of: top) {
            case .failure(let p): return p.text
            case .success(let c): stack.append((top, c, 0))
            }
            open[top] = true
            while let last = stack.last {
                if last.next < last.children.count {
                    let child = last.children[last.next]
                    stack[stack.count - 1].next += 1
                    if size[child] > 0 { continue }
                    if open[child] { return BinaryPlistShape.broken }
                    if stack.count >= maxDepth { return "binary plist nests more than \(maxDepth) levels" }
                    switch children(of: child) {
                    case .failure(let p): return p.text
                    case .success(let c): stack.append((child, c, 0))
                    }
                    open[child] = true
                    continue
                }
                stack.removeLast()
                var total = 1
                var deepest = 0
                for c in last.children {
                    total += size[c]
                    deepest = max(deepest, depth[c])
                    if total > maxObjects { return "binary plist expands to more than \(maxObjects) objects" }
                }
                size[last.object] = total
                depth[last.object] = deepest + 1
                open[last.object] = false
                // The stack bounds the path walked; this bounds subtrees met again by
                // reference from deeper down. The top's depth is the plist's.
                if depth[last.object] > maxDepth { return "binary plist nests more than \(maxDepth) levels" }
            }
            return nil
        }
    }

    private struct Problem: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }

    /// The big-endian unsigned integer of `size` bytes at `at`, when it is inside `b` and
    /// fits an Int.
    private static func int(_ b: UnsafeBufferPointer<UInt8>, at: Int, size: Int) -> Int? {
        guard at >= 0, size >= 1, size <= 8, at <= b.count - size else { return nil }
        var v: UInt64 = 0
        for i in 0..<size { v = v << 8 | UInt64(b[at + i]) }
        return v <= UInt64(Int.max) ? Int(v) : nil
    }
}

import Foundation
#if canImport(Darwin)
import CoreFoundation
#endif

// Control payloads (PROTOCOL.md §5.1): a binary plist whose root is a dictionary, read
// and written with Foundation's PropertyListSerialization. What Foundation hands back is
// `Any`, and what it is differs by platform (on Apple platforms a plist integer and a
// boolean are both NSNumber, and `as? Int` takes either), so every value is sorted into
// a `PlistValue` first, and the fields are read from that with the C++ codec's words
// for what is wrong.

/// A plist value as the wire layer tells it apart.
enum PlistValue {
    case string(String)
    /// An integer of 0 or more.
    case unsigned(UInt64)
    /// A negative integer: the protocol's integers are unsigned.
    case negative(Int64)
    case real(Double)
    case boolean(Bool)
    case array([Any])
    case dictionary([String: Any])
    /// Data, a date, a UID: nothing the protocol uses.
    case other

    init(_ value: Any) {
        if let s = value as? String {
            self = .string(s)
            return
        }
        // Linux's Foundation gives a plist boolean as a Swift Bool (which would also pass
        // as NSNumber below); Apple's gives the CFBoolean singletons, checked below.
        if let b = value as? Bool, type(of: value) == Bool.self {
            self = .boolean(b)
            return
        }
        if let n = value as? NSNumber {
            #if canImport(Darwin)
            if CFGetTypeID(n as CFTypeRef) == CFBooleanGetTypeID() {
                self = .boolean(n.boolValue)
                return
            }
            #endif
            // CChar is signed on some platforms and unsigned on others.
            switch UInt8(truncatingIfNeeded: n.objCType.pointee) {
            case UInt8(ascii: "d"), UInt8(ascii: "f"):
                self = .real(n.doubleValue)
            case UInt8(ascii: "Q"):
                // Unsigned storage: a plist integer above Int64.max (a 16-byte integer).
                self = .unsigned(n.uint64Value)
            default:
                let v = n.int64Value
                self = v < 0 ? .negative(v) : .unsigned(UInt64(v))
            }
            return
        }
        if let a = value as? [Any] {
            self = .array(a)
            return
        }
        if let d = value as? [String: Any] {
            self = .dictionary(d)
            return
        }
        self = .other
    }
}

/// Binary plist payloads: parse and serialize, with the checks of §5.1.
enum PlistPayload {
    private static let magic = Data("bplist00".utf8)

    /// The root dictionary of a control payload of message `context` ("set_property").
    /// 0 bytes is an empty dictionary; anything but a binary plist dictionary of at most
    /// 1 MiB is refused (XML and OpenStep plists too).
    static func parse(_ payload: Data, context: String) throws -> [String: Any] {
        if payload.count > WireLimits.maxPlistPayload {
            throw WireError.malformed("\(context): payload of \(payload.count) bytes is more than \(WireLimits.maxPlistPayload)")
        }
        if payload.isEmpty { return [:] }
        // Checked here, not left to the parser: PropertyListSerialization reads XML and
        // OpenStep text too, and tries them when a binary plist does not parse.
        guard payload.count >= magic.count, payload.prefix(magic.count).elementsEqual(magic) else {
            throw WireError.malformed("\(context): payload is not a binary plist (no bplist00 magic)")
        }
        // Checked before Foundation parses it: Linux's Foundation copies out every
        // reference to a shared object, so a small hostile plist could take forever.
        if let problem = BinaryPlistShape.problem(in: payload) {
            throw WireError.malformed("\(context): \(problem)")
        }
        var format = PropertyListSerialization.PropertyListFormat.binary
        let root: Any
        do {
            root = try PropertyListSerialization.propertyList(from: payload, options: [], format: &format)
        } catch {
            throw WireError.malformed("\(context): binary plist does not parse")
        }
        // Text that starts with "bplist00" can still parse as an OpenStep plist.
        guard format == .binary else {
            throw WireError.malformed("\(context): binary plist does not parse")
        }
        guard case .dictionary(let dict) = PlistValue(root) else {
            throw WireError.malformed("\(context): binary plist is not a dictionary")
        }
        return dict
    }

    /// `dict` as a binary plist. The codec only puts strings, integers, reals, booleans,
    /// arrays and dictionaries in it, which always serialize.
    static func serialize(_ dict: [String: Any]) -> Data {
        do {
            return try PropertyListSerialization.data(fromPropertyList: dict, format: .binary, options: 0)
        } catch {
            preconditionFailure("a dictionary of plist values did not serialize: \(error)")
        }
    }

    /// An integer as it goes into a dictionary: a signed 64-bit number when it fits
    /// (what both platforms write as an ordinary plist integer), else an unsigned one.
    static func integer(_ v: UInt64) -> Any {
        v <= UInt64(Int64.max) ? Int64(v) as Any : NSNumber(value: v) as Any
    }
}

/// Reads the typed fields of one plist dictionary. The first problem is thrown as a
/// `.malformed` ``WireError`` whose text starts with `context`: "hello: Role is missing",
/// "properties: Properties[2]: Value must be a string".
///
/// It checks presence and types, and the bounds that keep a hostile payload from costing
/// work (list lengths, integer ranges); ``FieldCheck`` checks the rest afterwards, on
/// the typed message, as for a message about to be sent.
struct PlistFields {
    let dict: [String: Any]
    /// "hello", "properties: Properties[2]".
    let context: String

    func fail(_ text: String) -> WireError { .malformed("\(context): \(text)") }

    /// The value of `key`, sorted; `nil` when absent (an error when `required`).
    private func value(_ key: String, required: Bool) throws -> PlistValue? {
        guard let v = dict[key] else {
            if required { throw fail("\(key) is missing") }
            return nil
        }
        return PlistValue(v)
    }

    /// A string; `nil` when absent and not required.
    func string(_ key: String, required: Bool = true) throws -> String? {
        guard let v = try value(key, required: required) else { return nil }
        guard case .string(let s) = v else { throw fail("\(key) must be a string") }
        return s
    }

    /// A string that must be there.
    func requiredString(_ key: String) throws -> String {
        try string(key, required: true)!
    }

    /// An unsigned integer of at most `max`; `nil` when absent and not required.
    func integer(_ key: String, max: UInt64, required: Bool = true) throws -> UInt64? {
        guard let v = try value(key, required: required) else { return nil }
        guard case .unsigned(let n) = v else { throw fail("\(key) must be an unsigned integer") }
        if n > max { throw fail("\(key) is \(n), more than \(max)") }
        return n
    }

    /// An unsigned integer of at most `max` that must be there.
    func requiredInteger(_ key: String, max: UInt64) throws -> UInt64 {
        try integer(key, max: max, required: true)!
    }

    /// A number that must be there: a real, or an integer (a Swift Double that happens to
    /// be whole may be written as one, §5.1).
    func number(_ key: String) throws -> Double {
        switch try value(key, required: true)! {
        case .real(let d): return d
        case .unsigned(let n): return Double(n)
        case .negative(let n): return Double(n)
        default: throw fail("\(key) must be a number")
        }
    }

    /// A boolean; `nil` when absent.
    func boolean(_ key: String) throws -> Bool? {
        guard let v = try value(key, required: false) else { return nil }
        guard case .boolean(let b) = v else { throw fail("\(key) must be a boolean") }
        return b
    }

    /// An array of at most `maxEntries` strings; `nil` when absent.
    func strings(_ key: String, maxEntries: Int) throws -> [String]? {
        guard let v = try value(key, required: false) else { return nil }
        guard case .array(let items) = v else { throw fail("\(key) must be an array of strings") }
        if items.count > maxEntries {
            throw fail("\(key) has \(items.count) entries, more than \(maxEntries)")
        }
        return try items.enumerated().map { i, item in
            guard case .string(let s) = PlistValue(item) else { throw fail("\(key)[\(i)] must be a string") }
            return s
        }
    }

    /// One of `E`'s names: `Role must be "camera" or "controller", not "viewer"`.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type) throws -> E where E.RawValue == String {
        let s = try requiredString(key)
        if let e = E(rawValue: s) { return e }
        throw fail("\(key) must be \(FieldCheck.choices(E.self)), not \"\(FieldCheck.prefix(s, bytes: 32))\"")
    }

    /// The keys of a property dictionary (§6.1): this dictionary's, or a `properties` entry's.
    func property() throws -> Property {
        let name = try requiredString("Name")
        let value = try requiredString("Value")
        let allowed = try strings("Allowed", maxEntries: WireLimits.maxAllowed) ?? []
        let writable = try boolean("Writable") ?? true
        return Property(name: name, value: value, allowed: allowed, writable: writable)
    }

    /// An array of at most 64 property dictionaries (`properties.Properties`).
    func properties(_ key: String) throws -> [Property] {
        guard case .array(let items) = try value(key, required: true)! else {
            throw fail("\(key) must be an array of dictionaries")
        }
        if items.count > WireLimits.maxProperties {
            throw fail("\(key) has \(items.count) entries, more than \(WireLimits.maxProperties)")
        }
        return try items.enumerated().map { i, item in
            let inner = "\(context): \(key)[\(i)]"
            guard case .dictionary(let d) = PlistValue(item) else {
                throw WireError.malformed("\(inner): must be a dictionary")
            }
            return try PlistFields(dict: d, context: inner).property()
        }
    }
}

import Foundation

/// A type whose JSON form the recorder cannot learn by decoding it (a value that is one of several
/// JSON types, keys that are data, fields only the encoder writes): it states its schema, and a
/// value to hand back in its place.
protocol JSONSchemaDescribed {
    static var jsonSchema: JSONValue { get throws(SchemaError) }
    static var schemaSample: Self { get }
}

/// A string enum in a report: its schema is its cases.
protocol JSONSchemaEnum {
    static var schemaCases: [String] { get }
    static var schemaSample: Self { get }
}

extension JSONSchemaEnum where Self: CaseIterable & RawRepresentable, Self.RawValue == String {
    static var schemaCases: [String] { allCases.map(\.rawValue) }
    static var schemaSample: Self { allCases.first! }
}

/// `[String: Value]`: an object whose keys are data and whose values are all `Value`.
protocol StringKeyedMap {
    static var valueType: any Decodable.Type { get }
    static var empty: Self { get }
}

extension Dictionary: StringKeyedMap where Key == String, Value: Decodable {
    static var valueType: any Decodable.Type { Value.self }
    static var empty: Self { [:] }
}

/// Why a report schema could not be written: the path where decoding went where the recorder cannot follow.
public struct SchemaError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Learns a Decodable type's JSON form by running its `init(from:)` against a decoder that answers
/// every request with a placeholder and writes down what was asked: each key (`decode` is required,
/// `decodeIfPresent` optional) and the type it was read as. The schema is therefore the decoder's
/// own definition of a report, not a second description of it.
final class SchemaRecorder: Decoder {
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: Any] = [:]
    /// Properties in the order they were read, when a keyed container was asked for.
    var properties: [(key: String, schema: JSONValue, required: Bool)]?
    /// The element schema, when an unkeyed container was asked for.
    var elements: JSONValue?
    /// The schema of a single value read.
    var single: JSONValue?

    init(codingPath: [any CodingKey]) { self.codingPath = codingPath }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if properties == nil { properties = [] }
        return KeyedDecodingContainer(KeyedRecorder<Key>(recorder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { UnkeyedRecorder(recorder: self) }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValueRecorder(recorder: self) }

    /// What was recorded, as a schema.
    var schema: JSONValue {
        if let properties {
            let required = properties.filter(\.required).map { JSONValue.string($0.key) }
            var object: JSONValue = ["type": "object", "properties": .object(properties.map { ($0.key, $0.schema) })]
            if !required.isEmpty { object = object.setting("required", .array(required)) }
            return object
        }
        if let elements { return ["type": "array", "items": elements] }
        return single ?? [:]
    }

    func record(_ key: any CodingKey, _ schema: JSONValue, required: Bool) {
        let name = Self.jsonName(key.stringValue)
        if let index = properties?.firstIndex(where: { $0.key == name }) {
            properties?[index] = (name, schema, required || properties![index].required)
        } else {
            properties?.append((name, schema, required))
        }
    }

    /// The schema of `T` and a value of it, read through a fresh recorder at `path`.
    static func describe<T: Decodable>(_ type: T.Type, at path: [any CodingKey]) throws(SchemaError) -> (schema: JSONValue, value: T) {
        if let primitive = primitive(type) { return primitive }
        if let described = type as? any JSONSchemaDescribed.Type {
            return (try described.jsonSchema, described.schemaSample as! T)
        }
        if let choice = type as? any JSONSchemaEnum.Type {
            return (["enum": .array(choice.schemaCases.map { .string($0) })], choice.schemaSample as! T)
        }
        if let map = type as? any StringKeyedMap.Type {
            let values = try describe(map.valueType, at: path)
            return (["type": "object", "additionalProperties": values], map.empty as! T)
        }
        let recorder = SchemaRecorder(codingPath: path)
        do {
            let value = try T(from: recorder)
            return (recorder.schema, value)
        } catch let error as SchemaError {
            throw error
        } catch {
            let where_ = path.map(\.stringValue).joined(separator: ".")
            throw SchemaError(description: "cannot describe \(T.self) at '\(where_)': \(error) (a string enum needs JSONSchemaEnum, a custom form JSONSchemaDescribed)")
        }
    }

    private static func describe(_ type: any Decodable.Type, at path: [any CodingKey]) throws(SchemaError) -> JSONValue {
        try describe(type, at: path).schema
    }

    /// JSON's own types; unsigned integers have a minimum of 0.
    static func primitive<T>(_ type: T.Type) -> (schema: JSONValue, value: T)? {
        switch type {
        case is String.Type: (["type": "string"], "" as! T)
        case is Bool.Type: (["type": "boolean"], false as! T)
        case is Double.Type: (["type": "number"], 0.0 as! T)
        case is Float.Type: (["type": "number"], Float(0) as! T)
        case is Int.Type: (["type": "integer"], 0 as! T)
        case is Int8.Type: (["type": "integer"], Int8(0) as! T)
        case is Int16.Type: (["type": "integer"], Int16(0) as! T)
        case is Int32.Type: (["type": "integer"], Int32(0) as! T)
        case is Int64.Type: (["type": "integer"], Int64(0) as! T)
        case is UInt64.Type: (["type": "integer", "minimum": 0], UInt64(0) as! T)
        case is UInt32.Type: (["type": "integer", "minimum": 0], UInt32(0) as! T)
        case is UInt.Type: (["type": "integer", "minimum": 0], UInt(0) as! T)
        case is UInt16.Type: (["type": "integer", "minimum": 0], UInt16(0) as! T)
        case is UInt8.Type: (["type": "integer", "minimum": 0], UInt8(0) as! T)
        default: nil
        }
    }

    /// A Swift property name as `JSONEncoder.snakeCase` writes it, asked of the encoder itself.
    static func jsonName(_ key: String) -> String {
        struct OneKey: Encodable {
            let name: String
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: DynamicKey.self)
                try container.encode(0, forKey: DynamicKey(name))
            }
        }
        guard let data = try? JSONEncoder.snakeCase.encode(OneKey(name: key)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let name = object.keys.first else { return key }
        return name
    }
}

private struct KeyedRecorder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let recorder: SchemaRecorder
    var codingPath: [any CodingKey] { recorder.codingPath }
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try read(type, key, required: true) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try read(type, key, required: false) }

    private func read<T: Decodable>(_ type: T.Type, _ key: Key, required: Bool) throws -> T {
        let (schema, value) = try SchemaRecorder.describe(type, at: codingPath + [key])
        recorder.record(key, schema, required: required)
        return value
    }

    // The primitive requirements, through the generic ones (decodeIfPresent's defaults would read as required).
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try read(type, key, required: true) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try read(type, key, required: true) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try read(type, key, required: true) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try read(type, key, required: true) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try read(type, key, required: true) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try read(type, key, required: true) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try read(type, key, required: true) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try read(type, key, required: true) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try read(type, key, required: true) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try read(type, key, required: true) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try read(type, key, required: true) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try read(type, key, required: true) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try read(type, key, required: true) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try read(type, key, required: true) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try read(type, key, required: false) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try read(type, key, required: false) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw SchemaError(description: "nested containers are not described (at \(key.stringValue))")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw SchemaError(description: "nested containers are not described (at \(key.stringValue))")
    }

    func superDecoder() throws -> any Decoder { recorder }
    func superDecoder(forKey key: Key) throws -> any Decoder { recorder }
}

/// An array: reports one element, then its end.
private final class UnkeyedRecorder: UnkeyedDecodingContainer, PrimitiveReading {
    let recorder: SchemaRecorder
    var codingPath: [any CodingKey] { recorder.codingPath }
    var count: Int? { nil }
    var currentIndex = 0
    var isAtEnd: Bool { currentIndex > 0 }

    init(recorder: SchemaRecorder) { self.recorder = recorder }

    func decodeNil() throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try read(type) }

    func read<T: Decodable>(_ type: T.Type) throws -> T {
        let (schema, value) = try SchemaRecorder.describe(type, at: codingPath + [DynamicKey("[]")])
        recorder.elements = schema
        currentIndex += 1
        return value
    }


    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        throw SchemaError(description: "nested containers are not described")
    }

    func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw SchemaError(description: "nested containers are not described")
    }

    func superDecoder() throws -> any Decoder { recorder }
}

private struct SingleValueRecorder: SingleValueDecodingContainer, PrimitiveReading {
    let recorder: SchemaRecorder
    var codingPath: [any CodingKey] { recorder.codingPath }

    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try read(type) }

    func read<T: Decodable>(_ type: T.Type) throws -> T {
        let (schema, value) = try SchemaRecorder.describe(type, at: codingPath)
        recorder.single = schema
        return value
    }

}

/// The primitive requirements of the unkeyed and single-value containers, through their generic `read`.
private protocol PrimitiveReading {
    func read<T: Decodable>(_ type: T.Type) throws -> T
}

extension PrimitiveReading {
    func decode(_ type: Bool.Type) throws -> Bool { try read(type) }
    func decode(_ type: String.Type) throws -> String { try read(type) }
    func decode(_ type: Double.Type) throws -> Double { try read(type) }
    func decode(_ type: Float.Type) throws -> Float { try read(type) }
    func decode(_ type: Int.Type) throws -> Int { try read(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try read(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try read(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try read(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try read(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try read(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try read(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try read(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try read(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try read(type) }
}

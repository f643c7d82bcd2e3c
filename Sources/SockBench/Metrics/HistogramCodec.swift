import CZlib
import Foundation
import Histogram

/// The HdrHistogram V2 encoding (as the Java, C, Go, Python and JS libraries write it):
/// a 40-byte big-endian header, then counts as ZigZag LEB128 with negative runs for zeros,
/// wrapped in the compressed form (cookie, length, zlib stream) and base64'd.
///
/// The zlib stream uses "stored" deflate blocks: every inflater reads them, so no zlib
/// dependency is needed to write; the counts are already compact. Decoding reads stored blocks
/// only (what sockbench writes); a stream compressed with real deflate is refused with a message.
public enum HistogramCodec {
    public static let encodingName = "hdrhistogram-v2-compressed-base64"
    static let encodingCookie: UInt32 = 0x1c84_9303 | 0x10
    static let compressedCookie: UInt32 = 0x1c84_9304 | 0x10

    public struct DecodeError: Error, CustomStringConvertible, Sendable {
        public let reason: String
        public var description: String { "cannot decode histogram: \(reason)" }
    }

    // MARK: Layout (mirrors AbstractHistogram's bucket indexing)

    struct Layout {
        let unitMagnitude: Int
        let subBucketHalfCountMagnitude: Int
        let subBucketHalfCount: Int
        let subBucketMask: UInt64
        let leadingZeroCountBase: Int
        let countsLength: Int

        init(lowest: UInt64, highest: UInt64, digits: Int) {
            let largestSingleUnit = 2 * Int(pow(10.0, Double(digits)))
            unitMagnitude = Int(log2(Double(lowest)))
            let subBucketCountMagnitude = Int(log2(Double(largestSingleUnit)).rounded(.up))
            subBucketHalfCountMagnitude = max(subBucketCountMagnitude, 1) - 1
            let subBucketCount = 1 << subBucketCountMagnitude
            subBucketHalfCount = subBucketCount / 2
            subBucketMask = UInt64(subBucketCount - 1) << UInt64(unitMagnitude)
            leadingZeroCountBase = 64 - unitMagnitude - subBucketCountMagnitude
            var smallestUntrackable = UInt64(subBucketCount) << UInt64(unitMagnitude)
            var buckets = 1
            while smallestUntrackable <= highest {
                if smallestUntrackable > UInt64.max / 2 { buckets += 1; break }
                smallestUntrackable <<= 1
                buckets += 1
            }
            countsLength = (buckets + 1) * subBucketHalfCount
        }

        func index(of value: UInt64) -> Int {
            let bucket = leadingZeroCountBase - (value | subBucketMask).leadingZeroBitCount
            let subBucket = Int(value >> UInt64(bucket + unitMagnitude))
            return ((bucket + 1) << subBucketHalfCountMagnitude) + (subBucket - subBucketHalfCount)
        }

        func value(at index: Int) -> UInt64 {
            var bucket = (index >> subBucketHalfCountMagnitude) - 1
            var subBucket = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
            if bucket < 0 {
                subBucket -= subBucketHalfCount
                bucket = 0
            }
            return UInt64(subBucket) << UInt64(bucket + unitMagnitude)
        }
    }

    static let layout = Layout(lowest: 1, highest: LatencyHistogram.highestTrackable, digits: 3)

    // MARK: Encoding

    public static func encode(_ latencies: LatencyHistogram) -> String {
        let histogram = latencies.histogram
        var counts: [(index: Int, count: UInt64)] = []
        for step in histogram.recordedValues() {
            counts.append((layout.index(of: step.value), step.count))
        }
        var payload: [UInt8] = []
        var next = 0
        for (index, count) in counts {
            let zeros = index - next
            if zeros == 1 { appendZigZag(0, to: &payload) }
            if zeros > 1 { appendZigZag(-Int64(zeros), to: &payload) }
            appendZigZag(Int64(count), to: &payload)
            next = index + 1
        }
        var raw: [UInt8] = []
        appendBigEndian(encodingCookie, to: &raw)
        appendBigEndian(UInt32(payload.count), to: &raw)
        appendBigEndian(UInt32(0), to: &raw) // normalizingIndexOffset
        appendBigEndian(UInt32(3), to: &raw) // significant digits
        appendBigEndian(UInt64(1), to: &raw) // lowestDiscernibleValue
        appendBigEndian(LatencyHistogram.highestTrackable, to: &raw)
        appendBigEndian(Double(1).bitPattern, to: &raw) // integerToDoubleValueConversionRatio
        raw += payload
        let zlib = storedZlibStream(raw)
        var wrapped: [UInt8] = []
        appendBigEndian(compressedCookie, to: &wrapped)
        appendBigEndian(UInt32(zlib.count), to: &wrapped)
        wrapped += zlib
        return Data(wrapped).base64EncodedString()
    }

    // MARK: Decoding

    public static func decode(_ text: String) throws(DecodeError) -> LatencyHistogram {
        guard let data = Data(base64Encoded: text) else { throw DecodeError(reason: "not base64") }
        let bytes = [UInt8](data)
        guard bytes.count >= 8, readBigEndian(bytes, 0, as: UInt32.self) == compressedCookie else {
            throw DecodeError(reason: "not an HdrHistogram V2 compressed encoding")
        }
        let length = Int(readBigEndian(bytes, 4, as: UInt32.self))
        guard bytes.count >= 8 + length else { throw DecodeError(reason: "truncated") }
        let raw = try inflate(Array(bytes[8..<(8 + length)]))
        guard raw.count >= 40, readBigEndian(raw, 0, as: UInt32.self) == encodingCookie else {
            throw DecodeError(reason: "bad V2 header")
        }
        let payloadLength = Int(readBigEndian(raw, 4, as: UInt32.self))
        let digits = Int(readBigEndian(raw, 12, as: UInt32.self))
        let lowest = readBigEndian(raw, 16, as: UInt64.self)
        let highest = readBigEndian(raw, 24, as: UInt64.self)
        guard raw.count >= 40 + payloadLength, (1...5).contains(digits), lowest >= 1, highest >= 2 * lowest else {
            throw DecodeError(reason: "bad V2 header values")
        }
        let source = Layout(lowest: lowest, highest: highest, digits: digits)
        var result = LatencyHistogram()
        var offset = 40
        let end = 40 + payloadLength
        var index = 0
        while offset < end {
            let value = try readZigZag(raw, &offset, end: end)
            if value < 0 {
                index += Int(-value)
            } else {
                if value > 0 {
                    guard index < source.countsLength else { throw DecodeError(reason: "count index out of range") }
                    result.record(source.value(at: index), count: UInt64(value))
                }
                index += 1
            }
        }
        return result
    }

    // MARK: Primitives

    static func appendZigZag(_ value: Int64, to bytes: inout [UInt8]) {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        repeat {
            var byte = UInt8(zigzag & 0x7f)
            zigzag >>= 7
            if zigzag != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while zigzag != 0
    }

    static func readZigZag(_ bytes: [UInt8], _ offset: inout Int, end: Int) throws(DecodeError) -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end, shift < 64 else { throw DecodeError(reason: "truncated counts") }
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
    }

    static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    static func readBigEndian<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, as: T.Type) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value = (value << 8) | T(bytes[offset + i]) }
        return value
    }

    /// A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 section 3.2.4).
    static func storedZlibStream(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out.append(final)
            out.append(UInt8(length & 0xff)); out.append(UInt8(length >> 8))
            out.append(UInt8(~length & 0xff)); out.append(UInt8((~length >> 8) & 0xff))
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        appendBigEndian(adler32(data), to: &out)
        return out
    }

    /// The most bytes a histogram may inflate to: far beyond any real one, short of a zip bomb.
    static let inflatedLimit = 64 << 20

    /// A zlib stream, deflated (other HdrHistogram libraries: Java, Python, Go) or stored (what
    /// sockbench writes), through zlib.
    static func inflate(_ stream: [UInt8]) throws(DecodeError) -> [UInt8] {
        var capacity = Swift.max(4096, stream.count * 8)
        while capacity <= inflatedLimit {
            var out = [UInt8](repeating: 0, count: capacity)
            var length = UInt(capacity)
            let status = out.withUnsafeMutableBufferPointer { output in
                stream.withUnsafeBufferPointer { input in
                    CZlib_uncompress(output.baseAddress, &length, input.baseAddress, UInt(input.count))
                }
            }
            if status == CZlib_OK { return Array(out[..<Int(length)]) }
            guard status == CZlib_BUF_ERROR else { throw DecodeError(reason: "the deflated histogram is damaged (zlib error \(status))") }
            capacity *= 4
        }
        throw DecodeError(reason: "the deflated histogram inflates beyond \(inflatedLimit >> 20) MiB")
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }
}

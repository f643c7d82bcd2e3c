import Foundation
import Testing
@testable import SockBench

@Suite("Histograms")
struct HistogramTests {
    static func sample(_ values: some Sequence<UInt64>) -> LatencyHistogram {
        var histogram = LatencyHistogram()
        for value in values { histogram.record(value) }
        return histogram
    }

    @Test("merging per-thread histograms equals recording everything in one")
    func merge() {
        let a = Self.sample((1...10_000).map { UInt64($0) * 1_000 })
        let b = Self.sample((1...5_000).map { UInt64($0) * 7_919 })
        var merged = a
        merged.merge(b)
        let together = Self.sample((1...10_000).map { UInt64($0) * 1_000 } + (1...5_000).map { UInt64($0) * 7_919 })
        #expect(merged.count == 15_000)
        for p in [50.0, 90, 99, 99.9, 100] {
            #expect(merged.percentile(p) == together.percentile(p))
        }
        #expect(merged.summary.max == together.summary.max)
    }

    @Test("percentiles are within 0.1% (3 significant digits)")
    func precision() {
        let histogram = Self.sample((1...100_000).map { UInt64($0) * 100 })
        let p50 = Double(histogram.percentile(50))
        #expect(abs(p50 - 5_000_000) / 5_000_000 < 0.001)
        let p99 = Double(histogram.percentile(99))
        #expect(abs(p99 - 9_900_000) / 9_900_000 < 0.001)
    }

    /// An encoding keeps counts per bucket, not exact values: equal within the histogram's precision.
    static func equivalent(_ x: UInt64, _ y: UInt64) -> Bool { LatencyHistogram().valuesAreEquivalent(x, y) }

    @Test("the V2 encoding round-trips and stays mergeable")
    func roundTrip() throws {
        let a = Self.sample([1, 2, 3, 1_000, 36_000, 36_001, 5_000_000, 3_000_000_000, 3_000_000_000])
        let decoded = try HistogramCodec.decode(HistogramCodec.encode(a))
        #expect(decoded.count == a.count)
        for p in [0.0, 25, 50, 75, 90, 99, 100] { #expect(Self.equivalent(decoded.percentile(p), a.percentile(p))) }
        let b = Self.sample((1...1_000).map { UInt64($0) * 333 })
        var viaEncoding = try HistogramCodec.decode(HistogramCodec.encode(a))
        viaEncoding.merge(try HistogramCodec.decode(HistogramCodec.encode(b)))
        var direct = a
        direct.merge(b)
        for p in [50.0, 99, 100] { #expect(Self.equivalent(viaEncoding.percentile(p), direct.percentile(p))) }
        #expect(viaEncoding.count == direct.count)
        #expect(HistogramCodec.encode(LatencyHistogram()).hasPrefix("HISTFAAA"))
    }

    @Test("the encoding is the standard compressed V2 layout an independent zlib reads")
    func standardLayout() throws {
        let histogram = Self.sample([10, 10, 20, 1_000_000])
        let bytes = [UInt8](Data(base64Encoded: HistogramCodec.encode(histogram))!)
        #expect(Array(bytes[0..<4]) == [0x1c, 0x84, 0x93, 0x14]) // V2 compressed cookie
        // Inflate with Python's zlib (a separate implementation) where available.
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        let hex = bytes[8...].map { String(format: "%02x", $0) }.joined()
        process.arguments = ["-c", "import zlib,sys; d=zlib.decompress(bytes.fromhex(sys.argv[1])); print(d[:4].hex(), len(d))", hex]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(output.hasPrefix("1c849313 "), "uncompressed V2 cookie: \(output)")
    }

    @Test("garbage is refused with a reason, not a crash")
    func garbage() {
        #expect(throws: HistogramCodec.DecodeError.self) { try HistogramCodec.decode("not base64!") }
        #expect(throws: HistogramCodec.DecodeError.self) { try HistogramCodec.decode(Data([1, 2, 3, 4, 5, 6, 7, 8, 9]).base64EncodedString()) }
        let valid = [UInt8](Data(base64Encoded: HistogramCodec.encode(Self.sample([5, 6, 7])))!)
        for cut in stride(from: 1, to: valid.count, by: 3) {
            let truncated = Data(valid[0..<cut]).base64EncodedString()
            #expect(throws: HistogramCodec.DecodeError.self) { try HistogramCodec.decode(truncated) }
        }
    }
}

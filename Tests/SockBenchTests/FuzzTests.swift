import Foundation
import Testing
@testable import SockBench

/// Generated mutations with fixed seeds (so every CI run checks the same thousands of cases) over
/// the other inputs sockbench reads from users: threshold expressions, `impair:` and fault settings,
/// and pcap files and frames. No crash, no hang, and every refusal says where.
@Suite("fuzzing: thresholds, impairments, pcap")
struct FuzzTests {
    static let thresholdSeeds = [
        "latency.p99 < 2ms", "p99 <= 500us", "errors.total == 0", "throughput.messages_per_second > 10k",
        "capture.retransmissions == 0", "udp.loss_percent < 1%", "latency.p50 >= 1.5ms", "throughput.bits_per_second_sent > 100Mbit/s",
    ]
    static let symbols = ["<", ">", "=", "!", " ", ".", "%", "ms", "us", "k", "M", "e", "-", "1", "0", "9", "p", "_", "\u{0}", "é", "∞", "nan", "1e309"]

    static func mutate(_ text: String, fragments: [String], using generator: inout SeededGenerator) -> String {
        var characters = Array(text)
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            let position = characters.isEmpty ? 0 : Int.random(in: 0..<characters.count, using: &generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0 where !characters.isEmpty: characters.remove(at: position)
            case 1 where !characters.isEmpty: characters = Array(characters[..<position])
            case 2 where !characters.isEmpty: characters[position] = fragments.randomElement(using: &generator)!.first ?? " "
            default: characters.insert(contentsOf: fragments.randomElement(using: &generator)!, at: position)
            }
        }
        return String(characters)
    }

    /// True when `yaml` loads; false when it is refused with `file:line:col: key: message` on one line.
    static func loadsOrSaysWhere(_ yaml: String) -> Bool {
        do {
            _ = try ScenarioLoader.load(text: yaml, path: "fuzz.yaml")
            return true
        } catch {
            #expect(error.description.hasPrefix("fuzz.yaml:\(error.line):\(error.column): "), "\(error.description)")
            #expect(error.line >= 1 && error.column >= 1 && !error.message.isEmpty)
            #expect(!error.description.contains("\n"), "one line: \(error.description)")
            return false
        }
    }

    @Test("3,000 mutated threshold expressions: parsed, or refused at their line and column in the scenario")
    func thresholds() {
        var generator = SeededGenerator(state: 0x7E5_4011)
        var parsed = 0, refused = 0
        for _ in 0..<3_000 {
            let expression = Self.mutate(Self.thresholdSeeds.randomElement(using: &generator)!, fragments: Self.symbols, using: &generator)
            _ = Threshold.parse(expression) // directly: no crash whatever the text
            let quoted = expression.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\u{0}", with: "\\0")
            let yaml = "name: t\nserver: {kind: tcp-echo}\nload: {connections: 1}\nthresholds:\n  - \"\(quoted)\"\n"
            if Self.loadsOrSaysWhere(yaml) { parsed += 1 } else { refused += 1 }
        }
        #expect(parsed > 0 && refused > 0, "\(parsed) parsed, \(refused) refused")
    }

    static let impairSeeds = [
        "impair: {delay: 5ms, jitter: 1ms, rate: 100mbit, direction: to-server, seed: 3}",
        "impair: {slice: 100, reset_after: 64KiB, stall_after: 16KiB, stall_for: 2s}",
        "load: {connections: 2, error_budget: 1%, reconnect: false, reconnect_delay: 50ms, idle_timeout: 2s}",
        "load: {connections: 2, error_budget: 10, connect_timeout: 1s, request_timeout: 200ms}",
    ]
    static let udpImpairSeeds = ["impair: {loss: 10%, duplicate: every 50, reorder: 5%, delay: 1ms}"]
    static let settingFragments = ["ms", "%", "mbit", "KiB", "every ", "1/", "-", "0", "99999999999999999999", ":", "{", "}", ",", "to-", "both",
                                   "loss", "slice", "rate", "delay", " ", "true", "~", "\"", "1e9", "gbit/s"]

    @Test("3,000 mutated impair: and fault settings: loaded, or refused at their line and column")
    func impairAndFaults() {
        var generator = SeededGenerator(state: 0x1A4_A1B5)
        var loaded = 0, refused = 0
        for round in 0..<3_000 {
            let udp = round % 4 == 3
            let seed = (udp ? Self.udpImpairSeeds : Self.impairSeeds).randomElement(using: &generator)!
            let section = Self.mutate(seed, fragments: Self.settingFragments, using: &generator)
            let server = udp ? "udp-echo" : "tcp-echo"
            let yaml = section.hasPrefix("load")
                ? "name: f\nserver: {kind: \(server)}\n\(section)\n"
                : "name: f\nserver: {kind: \(server)}\nload: {connections: 1}\n\(section)\n"
            if Self.loadsOrSaysWhere(yaml) { loaded += 1 } else { refused += 1 }
        }
        #expect(loaded > 0 && refused > 0, "\(loaded) loaded, \(refused) refused")
    }

    /// A small classic pcap (microsecond timestamps, Ethernet) of a TCP exchange and some UDP.
    static func samplePcap() -> [UInt8] {
        var bytes: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 1, 0, 0, 0]
        let builder = FrameBuilder()
        var frames: [[UInt8]] = [
            builder.tcp(from: 40000, to: 7, flags: 0x02, sequence: 1000),
            builder.tcp(from: 7, to: 40000, flags: 0x12, sequence: 5000, acknowledgment: 1001),
            builder.tcp(from: 40000, to: 7, flags: 0x10, sequence: 1001, acknowledgment: 5001),
        ]
        for k in 0..<6 {
            frames.append(builder.tcp(from: 40000, to: 7, flags: 0x18, sequence: 1001 + UInt32(64 * k), acknowledgment: 5001 + UInt32(64 * k), payload: 64))
            frames.append(builder.tcp(from: 7, to: 40000, flags: 0x18, sequence: 5001 + UInt32(64 * k), acknowledgment: 1065 + UInt32(64 * k), payload: 64))
        }
        frames.append(builder.udp(from: 5000, to: 9, payload: 32))
        for (index, frame) in frames.enumerated() {
            let length = UInt32(frame.count)
            for field in [UInt32(index), 0, length, length] {
                bytes += [UInt8(field & 0xFF), UInt8((field >> 8) & 0xFF), UInt8((field >> 16) & 0xFF), UInt8(field >> 24)]
            }
            bytes += frame
        }
        return bytes
    }

    @Test("500 damaged pcap files and 5,000 damaged frames: analysed, or refused with the file named")
    func pcap() throws {
        let original = Self.samplePcap()
        let directory = TestSupport.temporaryDirectory()
        let path = directory + "/fuzz.pcap"
        // The undamaged file reads back whole.
        try Data(original).write(to: URL(fileURLWithPath: path))
        let clean = try CaptureAnalyzer.analyze(file: path, configuration: .init(serverPort: 7))
        #expect(clean.packets.total == 15, "the TCP frames on port 7 (the UDP one is filtered out)")

        var generator = SeededGenerator(state: 0x9CA9_F11E)
        var analysed = 0, refused = 0
        for _ in 0..<500 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: bytes[position] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes = Array(bytes[..<max(1, position)])
                case 2: bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }, at: position)
                default: bytes[position] = [0, 0xFF, 0x7F, 0x80].randomElement(using: &generator)!
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try CaptureAnalyzer.analyze(file: path, configuration: .init(serverPort: 7))
                analysed += 1
            } catch {
                refused += 1
                #expect(error.message.contains(path), "\(error.message)")
            }
        }
        #expect(analysed > 0 && refused > 0, "\(analysed) analysed, \(refused) refused")

        // Frames straight into the decoder, every link type, with lying lengths.
        let builders = [FrameBuilder(), FrameBuilder(link: .vlan), FrameBuilder(link: .raw), FrameBuilder(link: .sll), FrameBuilder(link: .sll2),
                        FrameBuilder(link: .null), FrameBuilder.ipv6Loopback()]
        var decoded = 0
        for _ in 0..<5_000 {
            let builder = builders.randomElement(using: &generator)!
            var frame = Bool.random(using: &generator)
                ? builder.tcp(from: 1, to: 7, flags: 0x18, sequence: 1, payload: Int.random(in: 0...80, using: &generator))
                : builder.udp(from: 1, to: 7, payload: Int.random(in: 0...80, using: &generator))
            for _ in 0..<Int.random(in: 1...4, using: &generator) where !frame.isEmpty {
                let position = Int.random(in: 0..<frame.count, using: &generator)
                if Bool.random(using: &generator) { frame[position] = UInt8.random(in: 0...255, using: &generator) } else { frame = Array(frame[..<position]) }
            }
            let claimed = [frame.count, frame.count + 1000, 0, Int(UInt16.max) * 4].randomElement(using: &generator)!
            if PacketDecoder.decode(frame, linkType: builder.linkType, originalLength: claimed) != nil { decoded += 1 }
        }
        #expect(decoded > 0)
    }
}

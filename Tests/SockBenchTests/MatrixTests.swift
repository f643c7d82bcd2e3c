import Foundation
import Testing
@testable import SockBench

/// `matrix:` and `repeat:`: expansion into variants, the errors a bad matrix gets, and the
/// interleaved order runs happen in.
@Suite(.serialized) struct MatrixTests {
    static let scenario = """
    name: m
    server: {kind: tcp-echo}
    client: {tcp_nodelay: true}
    load: {connections: 1, duration: 100ms, warmup: 0}
    matrix:
      client.tcp_nodelay: [true, false]
      load.message_size: [64, 1024, 16384]
    repeat: 3
    """

    @Test func expandsEveryCombinationLastKeyFastest() throws {
        let scenario = try ScenarioLoader.load(text: Self.scenario, path: "m.yaml")
        let matrix = try #require(scenario.matrix)
        #expect(matrix.keys == ["client.tcp_nodelay", "load.message_size"])
        #expect(matrix.variants.map(\.name) == [
            "tcp_nodelay=true, message_size=64", "tcp_nodelay=true, message_size=1024", "tcp_nodelay=true, message_size=16384",
            "tcp_nodelay=false, message_size=64", "tcp_nodelay=false, message_size=1024", "tcp_nodelay=false, message_size=16384",
        ])
        #expect(matrix.variants.map(\.scenario.load.messageSize) == [64, 1024, 16384, 64, 1024, 16384])
        #expect(matrix.variants.map { $0.scenario.client.options[.tcp_nodelay] } == [.bool(true), .bool(true), .bool(true), .bool(false), .bool(false), .bool(false)])
        #expect(matrix.variants[4].group == "message_size=1024" && matrix.variants[4].label == "tcp_nodelay=false")
        #expect(scenario.repetitions == 3)
    }

    @Test func sameLastPartKeepsTheWholeKeyInNames() throws {
        let text = """
        name: m
        server: {kind: tcp-echo}
        load: {duration: 1s}
        matrix:
          client.tcp_nodelay: [true, false]
          server.tcp_nodelay: [true]
        """
        let names = try #require(try ScenarioLoader.load(text: text, path: "m.yaml").matrix).variants.map(\.name)
        #expect(names == ["client.tcp_nodelay=true, server.tcp_nodelay=true", "client.tcp_nodelay=false, server.tcp_nodelay=true"])
    }

    @Test(arguments: [
        ("  load.conections: [1, 2]", 5, "did you mean 'load.connections'"),
        ("  tcp_nodelay: [true]", 5, "write section.key"),
        ("  load.message_size: 64", 5, "expected a list of values"),
        ("  load.message_size: [64, 64]", 5, "'64' is listed twice"),
        ("  load.message_size: [64, huge]", 5, "load.message_size: expected a size in bytes"),
        ("  load.message_size: []", 5, "expected a list of values"),
    ])
    func badMatricesPointAtTheirLine(line: String, number: Int, fragment: String) {
        let text = "name: m\nserver: {kind: tcp-echo}\nload: {duration: 1s}\nmatrix:\n\(line)\n"
        do {
            _ = try ScenarioLoader.load(text: text, path: "m.yaml")
            Issue.record("loaded: \(line)")
        } catch {
            #expect(error.line == number, "\(error)")
            #expect(error.description.contains(fragment), "\(error)")
        }
    }

    @Test func repeatMustBeAWholeNumber() {
        let text = "name: m\nserver: {kind: tcp-echo}\nload: {duration: 1s}\nrepeat: 0\n"
        #expect(throws: ScenarioError.self) { try ScenarioLoader.load(text: text, path: "m.yaml") }
    }

    @Test func tooManyVariantsAreRefused() {
        let values = (1...9).map(String.init).joined(separator: ", ")
        let text = "name: m\nserver: {kind: tcp-echo}\nload: {duration: 1s}\nmatrix:\n  load.connections: [\(values)]\n  load.depth: [\(values)]\n"
        do {
            _ = try ScenarioLoader.load(text: text, path: "m.yaml")
            Issue.record("81 variants loaded")
        } catch {
            #expect(error.description.contains("expands to 9 × 9 = 81 variants; at most 64"))
        }
    }

    /// Two variants, two repetitions, real servers: the runs go A B A B and the report holds all four.
    @Test(.timeLimit(.minutes(1))) func runsInterleaveVariantsAcrossRepetitions() throws {
        let text = """
        name: interleave
        server: {kind: tcp-echo}
        load: {connections: 1, duration: 100ms, warmup: 0}
        capture: {enabled: false}
        matrix:
          load.message_size: [64, 512]
        repeat: 2
        thresholds: ["errors.total == 0"]
        """
        let scenario = try ScenarioLoader.load(text: text, path: "i.yaml")
        let directory = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try Runner.run(scenario, options: .init(outputDirectory: directory, executable: TestSupport.executable))
        let runs = outcome.report.runs
        #expect(runs.map(\.variant) == ["message_size=64", "message_size=512", "message_size=64", "message_size=512"])
        #expect(runs.map(\.repetition) == [1, 1, 2, 2])
        #expect(runs.map(\.messageSizeBytes) == [64, 512, 64, 512])
        #expect(outcome.report.matrix?.repetitions == 2)
        let comparison = try #require(outcome.report.comparison)
        #expect(comparison.compared == "load.message_size")
        #expect(comparison.groups.count == 1 && comparison.groups[0].baseline == "message_size=64")
        #expect(comparison.notes.first?.contains("no difference can reach p < 0.05") == true)
        #expect(outcome.report.thresholds?.count == 2)
        #expect(outcome.exitCode == 0)
        for file in ["report.json", "report.md", "report.html", "summary.md", "intervals.csv"] {
            #expect(FileManager.default.fileExists(atPath: directory + "/" + file), "\(file) missing")
        }
    }
}

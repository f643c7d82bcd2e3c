import Foundation
import Testing
@testable import SockBench

/// expect_regex through PCRE2 with a match budget: matches, misses, gives up on a pattern that
/// backtracks without end, and refuses a bad pattern with PCRE2's words.
@Suite("expect_regex: PCRE2 with a match budget")
struct BoundedRegexTests {
    /// 40 `a`s and a `!`: `^(a+)+$` tries every way of splitting the `a`s (2^40) before failing.
    static let greeting = String(repeating: "a", count: 40) + "!"

    @Test("a match gives its byte offsets; a miss is noMatch; the same regex matches again and again")
    func matchAndMiss() throws {
        let regex = try BoundedRegex("HELO [a-z]+\r\n")
        #expect(regex.firstMatch(in: Array("220 hi\r\nHELO me\r\nrest".utf8)) == .match(start: 8, end: 17))
        #expect(regex.firstMatch(in: Array("HELO ME\r\n".utf8)) == .noMatch)
        #expect(regex.firstMatch(in: []) == .noMatch)
        for _ in 0..<1_000 { #expect(regex.firstMatch(in: Array("HELO x\r\n".utf8)) == .match(start: 0, end: 8)) }
        // Raw bytes, not text: invalid UTF-8 in what a peer sent is matched around, not an error.
        let binary = try BoundedRegex("ok")
        #expect(binary.firstMatch(in: [0xFF, 0xFE, 0x6F, 0x6B]) == .match(start: 2, end: 4))
        // A pattern in UTF-8 matches its bytes.
        #expect(try BoundedRegex("é+").firstMatch(in: Array("café".utf8)) == .match(start: 3, end: 5))
    }

    @Test("^(a+)+$ against 40 a's and a '!' stops at its budget, in far less than a second of CPU")
    func budget() throws {
        let regex = try BoundedRegex("^(a+)+$")
        let start = ProcessInfo.processInfo.systemUptime
        #expect(regex.firstMatch(in: Array(Self.greeting.utf8)) == .budgetExceeded)
        // Generous: the budget is a few milliseconds; without it this takes hours.
        #expect(ProcessInfo.processInfo.systemUptime - start < 10)
        // The same pattern still matches what it should, within the budget.
        #expect(regex.firstMatch(in: Array(String(repeating: "a", count: 40).utf8)) == .match(start: 0, end: 40))
        // Deep recursion hits the depth or heap limit, not the stack.
        let deep = try BoundedRegex("^(a|b)*c")
        let outcome = deep.firstMatch(in: Array(String(repeating: "a", count: 4096).utf8))
        #expect(outcome == .noMatch || outcome == .budgetExceeded, "\(outcome)")
    }

    @Test("an invalid pattern is refused with PCRE2's message and where it stopped, at the scenario's line")
    func invalid() throws {
        #expect(throws: BoundedRegexError(message: "missing closing parenthesis", offset: 9)) { try BoundedRegex("(unclosed") }
        do {
            _ = try BoundedRegex("a{2,1}")
            Issue.record("a{2,1} compiled")
        } catch {
            #expect(error.description.contains("out of order") && error.description.contains("at byte"), "\(error.description)")
        }
        let yaml = """
        name: r
        server: {kind: tcp-echo, greeting: "hi"}
        load: {connections: 1}
        conversation:
          - expect_regex: "[z-a]"
        """
        do {
            _ = try ScenarioLoader.load(text: yaml, path: "r.yaml")
            Issue.record("[z-a] loaded")
        } catch {
            #expect(error.description.hasPrefix("r.yaml:5:19: conversation[0].expect_regex: not a valid regular expression (PCRE2 syntax): "),
                    "\(error.description)")
            #expect(error.message.contains("range out of order in character class"), "\(error.description)")
        }
    }

    @Test("a conversation whose expect_regex backtracks without end finishes its run on time, with protocol errors")
    func conversationRun() throws {
        let directory = TestSupport.temporaryDirectory()
        let scenario = directory + "/redos.yaml"
        try """
        name: redos
        server: {kind: tcp-echo, greeting: "\(Self.greeting)"}
        load: {connections: 2, duration: 1s, warmup: 0, request_timeout: 5s}
        conversation:
          - expect_regex: "^(a+)+$"
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let started = Date()
        let result = try TestSupport.sockbench(["run", scenario, "--no-capture", "--out", directory + "/out"], timeout: 60)
        // 1 s of load; 20 s covers start-up and report writing on a loaded machine, not an endless match.
        #expect(Date().timeIntervalSince(started) < 20, "\(result.stdout)")
        // No conversation finished: the run failed (exit 3) and says why, rather than spinning.
        #expect(result.status == 3, "\(result.stdout)\n\(result.stderr)")
        #expect((result.stdout + result.stderr).contains("the pattern exceeded its match budget"), "\(result.stdout)\n\(result.stderr)")
        let run = try #require((try TestSupport.decodeReport(directory + "/out")["runs"] as? [[String: Any]])?.first)
        let errors = try #require(run["errors"] as? [String: Any])
        #expect((errors["protocol"] as? Int ?? 0) > 0, "\(errors)")
        let mismatches = run["protocol_mismatches"] as? [String] ?? []
        #expect(mismatches.first?.contains("the pattern exceeded its match budget") == true, "\(mismatches)")
    }
}

import Testing
@testable import SockBench

/// The framing rules on bytes that arrive in pieces: every split of a message must give the
/// same answer as the whole message, and a definite mismatch must be known at once.
@Suite("Framing: expect, expect_bytes, expect_until, expect_regex with a length")
struct ExpectMatcherTests {
    /// Feeds `message` cut at every offset in `cuts` (the worker's carry: unconsumed bytes are
    /// offered again with the next piece); the bytes consumed and the final status.
    static func feed(_ expectation: CompiledExpectation, _ message: [UInt8], cuts: [Int], maximum: Int = 1 << 16)
        -> (consumed: Int, status: ExpectMatcher.Status) {
        var progress = ExpectProgress()
        var held: [UInt8] = []
        var consumed = 0
        var start = 0
        for end in cuts + [message.count] where end >= start {
            held += message[start..<end]
            start = end
            let (taken, status) = held.withUnsafeBytes { ExpectMatcher.feed(expectation, $0, &progress, maximum: maximum) }
            consumed += taken
            held.removeFirst(taken)
            if status != .needMore { return (consumed, status) }
        }
        return (consumed, .needMore)
    }

    static let http = Array("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\nhello world\nHTTP/1.1 200".utf8)
    static let httpPattern = #"^HTTP/1\.1 200 [^\r]*\r\n(?:[^\r]+\r\n)*?Content-Length: (?<length>\d+)\r\n(?:[^\r]+\r\n)*\r\n"#

    @Test("a regex with a length group frames an HTTP answer the same however it is cut, and leaves the next answer alone")
    func lengthFraming() throws {
        let regex = try BoundedRegex(Self.httpPattern)
        #expect(regex.compiled, "PCRE2's JIT compiled the pattern")
        #expect(regex.anchored && regex.lengthGroup != nil)
        let whole = Self.http.count - "HTTP/1.1 200".utf8.count
        for cut in 0...Self.http.count {
            let (consumed, status) = Self.feed(.regex(regex), Self.http, cuts: [cut])
            #expect(status == .complete && consumed == whole, "cut at \(cut): \(status), \(consumed)")
        }
        // Cut inside "Content-Length: 12": a hard partial match, never length 1.
        let digits = Self.http.firstIndex(of: UInt8(ascii: "2"))!
        #expect(Self.feed(.regex(regex), Self.http, cuts: [digits, digits + 1, digits + 2]).consumed == whole)
    }

    @Test("a lookbehind, \\b and (?m)^ see the bytes passed over before them, however the stream is cut")
    func lookbehindAcrossReads() throws {
        let cases: [(pattern: String, message: String, end: Int?)] = [
            (#"(?<=Length: )\d+\r\n"#, "junk Length: 42\r\n", 17),
            (#"\bOK\r\n"#, "NOK\r\n OK\r\n", 10),
            (#"(?m)^END\r\n"#, "xEND\r\nEND\r\n", 11),
            // Without the context a match would start at a cut: none may.
            (#"(?<=a)b"#, "cb cb", nil),
        ]
        for (pattern, text, end) in cases {
            let regex = try BoundedRegex(pattern)
            let message = Array(text.utf8)
            for cut in 0...message.count {
                for second in cut...message.count {
                    let (consumed, status) = Self.feed(.regex(regex), message, cuts: [cut, second])
                    if let end {
                        #expect(status == .complete && consumed == end, "/\(pattern)/ cut at \(cut), \(second): \(status), \(consumed)")
                    } else {
                        #expect(status == .needMore, "/\(pattern)/ cut at \(cut), \(second): \(status)")
                    }
                }
            }
        }
    }

    @Test("a match that consumes no byte (a lookahead PCRE2 counts as length 1) is a mismatch, not a step done again and again")
    func emptyMatch() throws {
        for (pattern, text) in [("(?=x)", "x"), (#"(?=\d)"#, "1 "), ("(?=HTTP)", "HTTP/1.1")] {
            let regex = try BoundedRegex(pattern)
            guard case .mismatch(let why) = Self.feed(.regex(regex), Array(text.utf8), cuts: []).status else {
                Issue.record("/\(pattern)/ on \(text) did not fail")
                continue
            }
            #expect(why.contains("without consuming"), "\(why)")
        }
        // A lookahead after a byte is fine: the step consumes that byte.
        let ahead = Self.feed(.regex(try BoundedRegex("x(?=y)")), Array("xy".utf8), cuts: [])
        #expect(ahead.consumed == 1 && ahead.status == .complete)
    }

    @Test("an anchored pattern fails at once on a 404; an unanchored one passes over bytes that cannot start a match")
    func definiteMismatch() throws {
        let anchored = try BoundedRegex(#"^HTTP/1\.1 200"#)
        let notFound = Array("HTTP/1.1 404 Not Found\r\n".utf8)
        guard case .mismatch(let why) = Self.feed(.regex(anchored), notFound, cuts: []).status else {
            Issue.record("a 404 did not fail")
            return
        }
        #expect(why.contains("does not match"))
        // The first bytes alone cannot decide yet.
        #expect(Self.feed(.regex(anchored), Array("HTTP/1.1 ".utf8), cuts: []).status == .needMore)
        let unanchored = try BoundedRegex("OK\r\n")
        let (consumed, status) = Self.feed(.regex(unanchored), Array("xxxx OK\r\nrest".utf8), cuts: [3, 6])
        #expect(status == .complete && consumed == 9)
    }

    @Test("expect_until reads through its delimiter, split anywhere, and stops at the maximum message size")
    func until() {
        let line = Array("+PONG\r\n+PONG\r\n".utf8)
        for cut in 0...line.count {
            let (consumed, status) = Self.feed(.until(Array("\r\n".utf8)), line, cuts: [cut])
            #expect(status == .complete && consumed == 7, "cut at \(cut)")
        }
        let endless = [UInt8](repeating: UInt8(ascii: "a"), count: 5000)
        guard case .mismatch(let why) = Self.feed(.until(Array("\r\n".utf8)), endless, cuts: [1000, 2000], maximum: 4096).status else {
            Issue.record("no delimiter in 5000 bytes passed a 4096-byte maximum")
            return
        }
        #expect(why.contains("max_message_size"))
    }

    @Test("expect fails at the first differing byte; expect_bytes counts; expect_close refuses any byte")
    func exactAndCount() {
        #expect(Self.feed(.exact(Array("+OK\r\n".utf8)), Array("+OK\r\n".utf8), cuts: [1, 2, 3]) == (5, .complete))
        if case .mismatch = Self.feed(.exact(Array("+OK\r\n".utf8)), Array("-ERR\r\n".utf8), cuts: []).status {} else { Issue.record("-ERR matched +OK") }
        #expect(Self.feed(.bytes(10), [UInt8](repeating: 1, count: 25), cuts: [4]) == (10, .complete))
        if case .mismatch = Self.feed(.close, [1], cuts: []).status {} else { Issue.record("a byte met expect_close") }
    }

    @Test("a length group that holds no number, or more than 18 digits, is a mismatch, not a trap")
    func badLength() throws {
        let regex = try BoundedRegex(#"^\$(?<length>-?\d+)\r\n"#)
        for text in ["$-1\r\n", "$1234567890123456789\r\n"] {
            if case .mismatch = Self.feed(.regex(regex), Array(text.utf8), cuts: []).status {} else { Issue.record("\(text) framed a body") }
        }
        #expect(Self.feed(.regex(regex), Array("$3\r\nabc\r\n".utf8), cuts: [5]) == (7, .complete))
    }

    @Test("templates: ${conn}, ${seq}, ${random:N} render in place; $${ writes ${; unknown placeholders are refused")
    func templates() throws {
        let template = try SendTemplate.parse(Array("SET k:${conn}:${seq} ${random:8} $${x}\r\n".utf8)).get()
        #expect(template.maximumLength >= 40)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: template.maximumLength, alignment: 1)
        defer { buffer.deallocate() }
        var random = SplitMix64(state: 7)
        let length = TemplateRenderer.render(template, into: buffer, connection: 12, sequence: 3_000_000_000, random: &random)
        let text = String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
        #expect(text.hasPrefix("SET k:12:3000000000 ") && text.hasSuffix(" ${x}\r\n"), "\(text)")
        let key = text.split(separator: " ")[2]
        #expect(key.count == 8 && key.allSatisfy { $0.isLetter || $0.isNumber })
        var again = SplitMix64(state: 7)
        let second = TemplateRenderer.render(template, into: buffer, connection: 12, sequence: 3_000_000_000, random: &again)
        #expect(String(decoding: UnsafeRawBufferPointer(start: buffer, count: second), as: UTF8.self) == text, "the same seed, the same bytes")
        #expect(TemplateRenderer.render(try SendTemplate.parse(Array("${seq}".utf8)).get(), into: buffer, connection: 0, sequence: 0, random: &random) == 1)
        for bad in ["${nope}", "${random:0}", "${random:70000}", "${conn"] {
            if case .success = SendTemplate.parse(Array(bad.utf8)) { Issue.record("\(bad) parsed") }
        }
    }
}

import CPCRE2

/// An `expect_regex` pattern compiled once with PCRE2, matched on raw bytes at a bounded cost.
///
/// A backtracking pattern such as `^(a+)+$` takes exponential time on a subject that almost
/// matches (`aaaa…a!`); with Swift's Regex one such step pinned a worker at 100% CPU, deaf to
/// SIGINT. Every match here runs under PCRE2's limits: at most `matchLimit` backtracking steps,
/// `depthLimit` nested backtracking points and `heapLimitKiB` of backtracking memory. A match
/// that reaches one of them ends at once as `.budgetExceeded`, which the conversation counts as a
/// `protocol` error. The match data is made once, in `init`, so matching allocates nothing.
///
/// Not `Sendable`: PCRE2's match data is scratch space for one thread. Each conversation worker
/// compiles its own copy. This is the only file that imports CPCRE2.
final class BoundedRegex {
    /// Backtracking steps one match may take (pcre2_set_match_limit): a few milliseconds of CPU.
    static let matchLimit: UInt32 = 100_000
    /// Nested backtracking points one match may hold (pcre2_set_depth_limit); a match over the
    /// 4 KiB a step looks at needs at most a few thousand.
    static let depthLimit: UInt32 = 10_000
    /// Backtracking memory one match may use, in KiB (pcre2_set_heap_limit).
    static let heapLimitKiB: UInt32 = 8 << 10

    /// The pattern as written.
    let pattern: String
    private let code: OpaquePointer
    private let context: OpaquePointer
    private let matchData: OpaquePointer

    /// What one match found.
    enum Outcome: Equatable, Sendable {
        /// The first match, as byte offsets into the subject (`end` is one past its last byte).
        case match(start: Int, end: Int)
        case noMatch
        /// The match reached its step, depth or memory limit: the pattern costs too much on this input.
        case budgetExceeded
        /// Any other matching error, in PCRE2's words.
        case failed(String)
    }

    /// Compiles `pattern` (PCRE2 syntax, UTF-8); the error carries PCRE2's message and where in the pattern.
    init(_ pattern: String) throws(BoundedRegexError) {
        self.pattern = pattern
        var error: Int32 = 0
        var offset = 0
        // A NUL after the bytes keeps the pointer non-null for an empty pattern; the length excludes it.
        let bytes = Array(pattern.utf8) + [0]
        let compiled = bytes.withUnsafeBufferPointer { buffer in
            CPCRE2_compile(buffer.baseAddress, buffer.count - 1, &error, &offset)
        }
        guard let compiled else {
            throw BoundedRegexError(message: Self.message(error), offset: offset)
        }
        guard let context = CPCRE2_match_context_create(Self.matchLimit, Self.depthLimit, Self.heapLimitKiB) else {
            CPCRE2_code_free(compiled)
            throw BoundedRegexError(message: "out of memory for the match context", offset: 0)
        }
        guard let matchData = CPCRE2_match_data_create(compiled) else {
            CPCRE2_match_context_free(context)
            CPCRE2_code_free(compiled)
            throw BoundedRegexError(message: "out of memory for the match data", offset: 0)
        }
        code = compiled
        self.context = context
        self.matchData = matchData
    }

    deinit {
        CPCRE2_match_data_free(matchData)
        CPCRE2_match_context_free(context)
        CPCRE2_code_free(code)
    }

    /// The first match anywhere in `subject`, within the budget.
    func firstMatch(in subject: UnsafeRawBufferPointer) -> Outcome {
        guard let base = subject.baseAddress else {
            // An empty subject still needs a non-null pointer.
            return withUnsafeBytes(of: UInt8(0)) { firstMatch(in: UnsafeRawBufferPointer(rebasing: $0[0..<0])) }
        }
        let result = CPCRE2_match(code, base.assumingMemoryBound(to: UInt8.self), subject.count, matchData, context)
        if result >= 0 {
            return .match(start: CPCRE2_match_start(matchData), end: CPCRE2_match_end(matchData))
        }
        switch result {
        case CPCRE2_ERROR_NOMATCH: return .noMatch
        case CPCRE2_ERROR_MATCHLIMIT, CPCRE2_ERROR_DEPTHLIMIT, CPCRE2_ERROR_HEAPLIMIT: return .budgetExceeded
        default: return .failed(Self.message(result))
        }
    }

    /// The first match in `bytes` (tests and callers holding an array).
    func firstMatch(in bytes: [UInt8]) -> Outcome {
        bytes.withUnsafeBytes { firstMatch(in: $0) }
    }

    static func message(_ error: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = buffer.withUnsafeMutableBufferPointer { CPCRE2_error_message(error, $0.baseAddress, $0.count) }
        guard length > 0 else { return "PCRE2 error \(error)" }
        return String(decoding: buffer[..<Int(length)], as: UTF8.self)
    }
}

/// A pattern PCRE2 refused: its message, and the byte offset in the pattern where it stopped.
struct BoundedRegexError: Error, Sendable, Equatable, CustomStringConvertible {
    let message: String
    let offset: Int

    var description: String { "\(message) (at byte \(offset) of the pattern)" }
}

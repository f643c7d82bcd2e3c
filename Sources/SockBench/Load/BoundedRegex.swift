import CPCRE2

/// An `expect_regex` pattern compiled once with PCRE2 (to machine code by its JIT where
/// available), matched on raw bytes at a bounded cost.
///
/// A backtracking pattern such as `^(a+)+$` takes exponential time on a subject that almost
/// matches (`aaaa…a!`); with Swift's Regex one such step pinned a worker at 100% CPU, deaf to
/// SIGINT. Every match here runs under PCRE2's limits: at most `matchLimit` backtracking steps
/// (the JIT counts them too), `depthLimit` nested backtracking points and `heapLimitKiB` of
/// backtracking memory for the interpreter, a JIT stack of at most `jitStackBytes`. A match
/// that reaches one of them ends at once as `.budgetExceeded`, which the conversation counts as
/// a `protocol` error. Match data, context and JIT stack are made once, in `init`, so matching
/// allocates nothing.
///
/// Matching a stream that is still arriving uses PCRE2's hard partial matching
/// (`matchPrefix`): a subject that ends inside a possible match says `.partial` (read more),
/// never a shorter match, so `Content-Length: (?<length>\d+)` cannot stop at the first digits.
///
/// Not `Sendable`: PCRE2's match data is scratch space for one thread. Each connection engine
/// compiles its own copy. This is the only file that imports CPCRE2.
final class BoundedRegex {
    /// Backtracking steps one match may take (pcre2_set_match_limit): a few milliseconds of CPU.
    static let matchLimit: UInt32 = 100_000
    /// Nested backtracking points one match may hold (pcre2_set_depth_limit); a match over a
    /// protocol header needs at most a few thousand.
    static let depthLimit: UInt32 = 10_000
    /// Backtracking memory one match may use, in KiB (pcre2_set_heap_limit).
    static let heapLimitKiB: UInt32 = 8 << 10
    /// The JIT's stack for one match: 32 KiB growing to 1 MiB.
    static let jitStackBytes = (start: 32 << 10, maximum: 1 << 20)

    /// The pattern as written.
    let pattern: String
    /// True when every match starts at the first byte (`^…`, `\A…`): a subject that neither
    /// matches nor partially matches can never match, whatever follows.
    let anchored: Bool
    /// The number of the named group `length`, when the pattern has one: that many bytes after
    /// the match are the message's body.
    let lengthGroup: Int32?
    /// The most bytes before a match's start the pattern may inspect (lookbehinds, `\b`; four
    /// bytes per character, UTF-8's longest), and at least one, which `(?m)^` looks at (PCRE2
    /// does not count it): what a stream keeps of the bytes it passes over.
    let lookbehindBytes: Int
    /// The fewest bytes a match can consume (0: the pattern can match the empty string).
    var minimumLength: Int { Int(CPCRE2_minimum_length(code)) }
    /// True when PCRE2's JIT compiled the pattern (else the interpreter matches, more slowly).
    let compiled: Bool
    private let code: OpaquePointer
    private let context: OpaquePointer
    private let matchData: OpaquePointer
    private let jitStack: OpaquePointer?

    /// What one match found.
    enum Outcome: Equatable, Sendable {
        /// The first match, as byte offsets into the subject (`end` is one past its last byte).
        case match(start: Int, end: Int)
        case noMatch
        /// The subject ends inside a possible match that starts at `start`: more bytes may complete it.
        case partial(start: Int)
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
        self.compiled = CPCRE2_jit_compile(compiled) == 0
        jitStack = self.compiled ? CPCRE2_jit_stack_assign(context, Self.jitStackBytes.start, Self.jitStackBytes.maximum) : nil
        anchored = CPCRE2_is_anchored(compiled) != 0
        let group = CPCRE2_group_number(compiled, "length")
        lengthGroup = group > 0 ? group : nil
        lookbehindBytes = max(1, Int(CPCRE2_max_lookbehind(compiled)) * 4)
    }

    deinit {
        if let jitStack { CPCRE2_jit_stack_free(jitStack) }
        CPCRE2_match_data_free(matchData)
        CPCRE2_match_context_free(context)
        CPCRE2_code_free(code)
    }

    /// The first match anywhere in `subject`, within the budget (the subject is complete).
    func firstMatch(in subject: UnsafeRawBufferPointer) -> Outcome {
        run(subject, partial: false)
    }

    /// The first match in `subject`, the beginning of a stream that may go on: `.partial`
    /// when the subject ends where a match could still complete. A match starts at `from` or
    /// later; the bytes before it are context (what a lookbehind or `\b` may look at).
    func matchPrefix(_ subject: UnsafeRawBufferPointer, from: Int = 0) -> Outcome {
        run(subject, partial: true, from: from)
    }

    /// The first match in `bytes` (tests and callers holding an array).
    func firstMatch(in bytes: [UInt8]) -> Outcome {
        bytes.withUnsafeBytes { firstMatch(in: $0) }
    }

    func matchPrefix(_ bytes: [UInt8], from: Int = 0) -> Outcome {
        bytes.withUnsafeBytes { matchPrefix($0, from: from) }
    }

    /// The `length` group's digits after a match, as a number; nil when the group did not take
    /// part, holds something other than decimal digits, or more than 18 of them.
    func lengthValue(in subject: UnsafeRawBufferPointer) -> Int? {
        guard let lengthGroup else { return nil }
        let start = CPCRE2_group_start(matchData, lengthGroup)
        let end = CPCRE2_group_end(matchData, lengthGroup)
        // PCRE2_UNSET (SIZE_MAX) reads as -1: the group did not take part.
        guard start >= 0, end > start, end - start <= 18, end <= subject.count else { return nil }
        var value = 0
        for offset in start..<end {
            let digit = subject[offset] &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    private func run(_ subject: UnsafeRawBufferPointer, partial: Bool, from: Int = 0) -> Outcome {
        guard let base = subject.baseAddress else {
            // An empty subject still needs a non-null pointer.
            return withUnsafeBytes(of: UInt8(0)) { run(UnsafeRawBufferPointer(rebasing: $0[0..<0]), partial: partial) }
        }
        let pointer = base.assumingMemoryBound(to: UInt8.self)
        let result = partial
            ? CPCRE2_match_partial(code, pointer, subject.count, min(from, subject.count), matchData, context)
            : CPCRE2_match(code, pointer, subject.count, matchData, context)
        if result >= 0 {
            return .match(start: CPCRE2_match_start(matchData), end: CPCRE2_match_end(matchData))
        }
        switch result {
        case CPCRE2_ERROR_NOMATCH: return .noMatch
        case CPCRE2_ERROR_PARTIAL: return .partial(start: CPCRE2_match_start(matchData))
        case CPCRE2_ERROR_MATCHLIMIT, CPCRE2_ERROR_DEPTHLIMIT, CPCRE2_ERROR_HEAPLIMIT, CPCRE2_ERROR_JIT_STACKLIMIT: return .budgetExceeded
        default: return .failed(Self.message(result))
        }
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

import Glibc

/// One connection's progress through the expectation of its current step.
struct ExpectProgress {
    /// exact: bytes matched; bytes: bytes read; until and unanchored regex: bytes passed over
    /// (they count towards the maximum message size).
    var done = 0
    /// regex with a `length` group: body bytes still to read after the match; -1 before the match.
    var body = -1
    /// Unanchored regex: the first bytes of what is held are context only, kept from those passed
    /// over for a lookbehind (or `\b`) to see; no match starts in them.
    var context = 0
}

/// An expectation ready to match: the regex compiled for one worker.
enum CompiledExpectation {
    case exact([UInt8])
    case bytes(Int)
    case regex(BoundedRegex)
    case until([UInt8])
    case close
    /// Request-response's answer. The engine feeds it with `feedEcho` and its own filler buffer;
    /// this form (no buffer: a message may be megabytes) compares byte by byte.
    case echo(size: Int, verify: Bool)

    init(_ expectation: Expectation) throws(BoundedRegexError) {
        switch expectation {
        case .exact(let bytes): self = .exact(bytes)
        case .bytes(let count): self = .bytes(count)
        case .regex(let pattern): self = .regex(try BoundedRegex(pattern))
        case .until(let delimiter): self = .until(delimiter)
        case .close: self = .close
        case .echo(let size, let verify): self = .echo(size: size, verify: verify)
        }
    }
}

/// Feeds arriving bytes to an expectation: how many belong to it, and whether it is met, needs
/// more, or can no longer be met. Pure: the worker owns the bytes and the progress.
enum ExpectMatcher {
    enum Status: Equatable {
        case needMore
        case complete
        /// The bytes cannot meet the expectation; why, in words.
        case mismatch(String)
    }

    /// Feeds `bytes`, the unread input in order (for regex and until: all of it held so far, from
    /// the first byte the step has not consumed). `maximum` bounds what regex and until hold.
    /// `whole`: the bytes are a whole message (a datagram), nothing follows them. `sequence`: the
    /// iteration's, which an echo answer carries.
    static func feed(_ expectation: CompiledExpectation, _ bytes: UnsafeRawBufferPointer, _ progress: inout ExpectProgress,
                     maximum: Int, whole: Bool = false, sequence: UInt64 = 0) -> (consumed: Int, status: Status) {
        let count = bytes.count
        switch expectation {
        case .echo(let size, let verify):
            let take = min(size - progress.done, count)
            for offset in 0..<(verify ? take : 0)
            where bytes[offset] != Payload.expectedByte(sequence: sequence, offset: progress.done + offset) {
                return (0, .mismatch(echoMismatch(sequence)))
            }
            progress.done += take
            return (take, progress.done == size ? .complete : .needMore)
        case .exact(let expected):
            let take = min(expected.count - progress.done, count)
            let same = take == 0 || expected.withUnsafeBytes { memcmp($0.baseAddress! + progress.done, bytes.baseAddress!, take) == 0 }
            guard same else { return (0, .mismatch("expected \(ByteText.quote(expected))")) }
            progress.done += take
            return (take, progress.done == expected.count ? .complete : .needMore)
        case .bytes(let total):
            let take = min(total - progress.done, count)
            progress.done += take
            return (take, progress.done == total ? .complete : .needMore)
        case .until(let delimiter):
            guard count > 0 else { return (0, .needMore) }
            if let found = find(delimiter, in: bytes) { return (found + delimiter.count, .complete) }
            // Keep the bytes the delimiter could still begin in; the rest belongs to the message.
            let keep = min(count, delimiter.count - 1)
            progress.done += count - keep
            if progress.done + keep >= maximum {
                return (count - keep, .mismatch("no \(ByteText.quote(delimiter)) within \(maximum) bytes (load.max_message_size)"))
            }
            return (count - keep, .needMore)
        case .close:
            return count == 0 ? (0, .needMore) : (0, .mismatch("expected the server to close the connection"))
        case .regex(let regex):
            if progress.body >= 0 {
                let take = min(progress.body, count)
                progress.body -= take
                return (take, progress.body == 0 ? .complete : .needMore)
            }
            guard count > 0 else { return (0, .needMore) }
            switch whole ? regex.firstMatch(in: bytes) : regex.matchPrefix(bytes, from: progress.context) {
            case .match(_, let end):
                // A lookahead can match without a byte (PCRE2's minimum length counts what it
                // looks at): such a step would complete again and again on the same bytes.
                let empty = end <= progress.context
                guard regex.lengthGroup != nil else {
                    return empty ? (0, .mismatch(Self.emptyMatch(regex))) : (end, .complete)
                }
                guard let length = regex.lengthValue(in: bytes) else {
                    return (0, .mismatch("the length group of /\(regex.pattern)/ holds no number of at most 18 digits"))
                }
                if empty, length == 0 { return (0, .mismatch(Self.emptyMatch(regex))) }
                let take = min(length, count - end)
                progress.body = length - take
                return (end + take, progress.body == 0 ? .complete : .needMore)
            case .partial(let start):
                // No match starts before `start`: pass over those bytes but the lookbehind's worth.
                return passOver(upTo: start, of: count, regex, &progress, maximum: maximum)
            case .noMatch:
                if regex.anchored { return (0, .mismatch("does not match /\(regex.pattern)/")) }
                // No match can start in these bytes, whatever follows: pass over them.
                return passOver(upTo: count, of: count, regex, &progress, maximum: maximum)
            case .budgetExceeded:
                return (0, .mismatch("the pattern exceeded its match budget (\(BoundedRegex.matchLimit) steps) on \(count) bytes"))
            case .failed(let why):
                return (0, .mismatch("matching /\(regex.pattern)/ failed: \(why)"))
            }
        }
    }
}

extension ExpectMatcher {
    /// Request-response's answer: `size` bytes, the sequence number's first (up to 8), then
    /// `filler` (filler bytes from offset 0, at least `size` of them).
    @inline(__always)
    static func feedEcho(_ filler: UnsafeRawPointer, size: Int, verify: Bool, _ bytes: UnsafeRawBufferPointer,
                         _ progress: inout ExpectProgress, sequence: UInt64) -> (consumed: Int, status: Status) {
        let take = min(size - progress.done, bytes.count)
        if verify, !echoMatches(filler, sequence: sequence, offset: progress.done, bytes.baseAddress, take) {
            return (0, .mismatch(echoMismatch(sequence)))
        }
        progress.done += take
        return (take, progress.done == size ? .complete : .needMore)
    }

    static func echoMismatch(_ sequence: UInt64) -> String { "an answer's bytes differ from what was sent (sequence \(sequence))" }

    /// Compares `length` bytes with the echo answer from `offset` on: the sequence number's
    /// bytes one by one, the filler with one memcmp.
    @inline(__always)
    static func echoMatches(_ template: UnsafeRawPointer, sequence: UInt64, offset: Int, _ bytes: UnsafeRawPointer?, _ length: Int) -> Bool {
        guard length > 0, let bytes else { return true }
        var checked = 0
        while offset + checked < Payload.sequenceBytes, checked < length {
            if bytes.load(fromByteOffset: checked, as: UInt8.self) != Payload.expectedByte(sequence: sequence, offset: offset + checked) {
                return false
            }
            checked += 1
        }
        guard checked < length else { return true }
        return memcmp(bytes + checked, template + offset + checked, length - checked) == 0
    }

    static func emptyMatch(_ regex: BoundedRegex) -> String {
        "/\(regex.pattern)/ matched without consuming a byte: an answer must consume at least one"
    }

    /// Unanchored regex: drops the `start` held bytes no match can start in, keeping the last
    /// `lookbehindBytes` of them as context; a message's bytes (dropped and held) are bounded by `maximum`.
    private static func passOver(upTo start: Int, of count: Int, _ regex: BoundedRegex, _ progress: inout ExpectProgress,
                                 maximum: Int) -> (consumed: Int, status: Status) {
        let keep = min(start, regex.lookbehindBytes)
        let dropped = start - keep
        progress.done += dropped
        progress.context = keep
        if progress.done + (count - dropped) >= maximum {
            return (dropped, .mismatch("no match for /\(regex.pattern)/ within \(maximum) bytes (load.max_message_size)"))
        }
        return (dropped, .needMore)
    }

    /// Where `needle` first occurs in `bytes` (memchr for its first byte, then memcmp; glibc's
    /// memmem is not visible to Swift).
    static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, !needle.isEmpty, bytes.count >= needle.count else { return nil }
        return needle.withUnsafeBytes { pattern -> Int? in
            var offset = 0
            let last = bytes.count - needle.count
            while offset <= last {
                guard let hit = memchr(base + offset, Int32(needle[0]), last - offset + 1) else { return nil }
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, pattern.baseAddress!, needle.count) == 0 { return at }
                offset = at + 1
            }
            return nil
        }
    }
}

/// Bytes as short quoted text, for messages about what a peer sent.
enum ByteText {
    /// At most `limit` bytes, with \r, \n, \t, \" and \\ escaped and anything else unprintable as \xNN.
    static func quote<C: Collection>(_ bytes: C, limit: Int = 64) -> String where C.Element == UInt8 {
        var text = "\""
        for byte in bytes.prefix(limit) {
            switch byte {
            case 0x0A: text += "\\n"
            case 0x0D: text += "\\r"
            case 0x09: text += "\\t"
            case 0x22: text += "\\\""
            case 0x5C: text += "\\\\"
            case 0x20...0x7E: text.append(Character(Unicode.Scalar(byte)))
            default:
                let digits = Array("0123456789abcdef".utf8)
                text += "\\x" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return text + (bytes.count > limit ? "…\"" : "\"")
    }
}

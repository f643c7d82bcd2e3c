import CSockBenchLinux
import Glibc

/// Errors by category, as reports show them. Every operation goes through one table from
/// category to field, so a new category is one `case`, one field and one line in `field(of:)`.
public struct ErrorCounts: Codable, Sendable, Equatable {
    public var refused: UInt64 = 0
    public var reset: UInt64 = 0
    public var timeout: UInt64 = 0
    /// The peer closed the connection with an answer still owed (mid-message or mid-request).
    public var closed: UInt64 = 0
    public var integrity: UInt64 = 0
    /// A scripted conversation got something other than what a step expected.
    public var `protocol`: UInt64 = 0
    public var other: UInt64 = 0

    public init() {}

    public enum Category: String, Sendable, CaseIterable { case refused, reset, timeout, closed, integrity, `protocol`, other }

    private static func field(of category: Category) -> WritableKeyPath<ErrorCounts, UInt64> {
        switch category {
        case .refused: \.refused
        case .reset: \.reset
        case .timeout: \.timeout
        case .closed: \.closed
        case .integrity: \.integrity
        case .protocol: \.protocol
        case .other: \.other
        }
    }

    /// The count of one category.
    public subscript(category: Category) -> UInt64 {
        get { self[keyPath: Self.field(of: category)] }
        set { self[keyPath: Self.field(of: category)] = newValue }
    }

    /// Every category together; saturates at UInt64.max, since a report read back can hold any counts.
    public var total: UInt64 { Category.allCases.reduce(0) { $0.saturatingAdd(self[$1]) } }

    /// The categories that saw errors, with their counts (`timeout 16, reset 2`), or `none`.
    public var summary: String {
        let seen = Category.allCases.filter { self[$0] > 0 }.map { "\($0.rawValue) \(self[$0])" }
        return seen.isEmpty ? "none" : seen.joined(separator: ", ")
    }

    /// The category a socket errno belongs to.
    public static func category(of code: Int32) -> Category {
        switch code {
        // ENOENT: a unix socket path with no socket file, the unix form of a port nobody listens on.
        case ECONNREFUSED, ENOENT: .refused
        case ECONNRESET, EPIPE, ECONNABORTED: .reset
        case ETIMEDOUT: .timeout
        default: .other
        }
    }

    mutating func count(_ category: Category) { self[category] += 1 }

    mutating func add(_ other: ErrorCounts) {
        for category in Category.allCases { self[category] += other[category] }
    }

    /// The counts since `earlier` (an interval's share of running totals).
    func minus(_ earlier: ErrorCounts) -> ErrorCounts {
        var difference = ErrorCounts()
        for category in Category.allCases { difference[category] = self[category] - earlier[category] }
        return difference
    }

    // MARK: Coding: the categories plus `total`; reports older than `closed` and `protocol` lack them.

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let addedLater: Set<Category> = [.closed, .protocol]

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(total, forKey: Key(stringValue: "total"))
        for category in Category.allCases { try container.encode(self[category], forKey: Key(stringValue: category.rawValue)) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for category in Category.allCases {
            let key = Key(stringValue: category.rawValue)
            self[category] = Self.addedLater.contains(category)
                ? try container.decodeIfPresent(UInt64.self, forKey: key) ?? 0
                : try container.decode(UInt64.self, forKey: key)
        }
    }
}

/// Something that happened at one moment of a run (`runs[].events[]`): the first errors of each
/// worker, the reference server exiting, an interruption, the error budget running out.
public struct RunEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case error
        case serverExited = "server-exited"
        case proxyExited = "proxy-exited"
        case interrupted
        case errorBudget = "error-budget"
    }

    /// Seconds from the start of the measured window (negative: during the warm-up).
    public var atS: Double
    public var kind: Kind
    /// For errors: refused, reset, timeout, closed, integrity, protocol or other.
    public var category: String?
    public var message: String

    public init(atS: Double, kind: Kind, category: String? = nil, message: String) {
        self.atS = atS
        self.kind = kind
        self.category = category
        self.message = message
    }
}

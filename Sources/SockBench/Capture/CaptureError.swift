/// Why a capture could not be opened, filtered, written or read.
public struct CaptureError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// The process lacks CAP_NET_RAW (libpcap's PCAP_ERROR_PERM_DENIED).
        case permissionDenied
        case noSuchInterface
        case badFilter
        /// Opening, writing or renaming the capture file failed.
        case file
        /// A pcap file could not be opened or read.
        case unreadable
        case other
    }

    public let code: Code
    /// A whole sentence a user can act on.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static let privilegeHint =
        "capturing needs CAP_NET_RAW: run as root, or grant it once with `sudo setcap cap_net_raw,cap_net_admin+eip PATH-TO-sockbench`"
}

import Foundation
import Yams

/// `tcp://HOST:PORT`, `udp://HOST:PORT` or `unix:///path`: a server `sockbench run` loads with no
/// scenario file. It stands for a scenario of its own (`server: {kind: external, address: …}` and
/// the loader's default load), which the loader reads like any file.
public struct TargetURL: Sendable, Equatable {
    public enum Scheme: String, Sendable, CaseIterable {
        case tcp, udp
        /// A unix stream socket: `unix:///run/echo.sock` is the socket /run/echo.sock.
        case unix
    }

    /// The URL as written; also the scenario's name.
    public let text: String
    public let scheme: Scheme
    /// The server's address as `server.address` takes it: `127.0.0.1:7000`, `[::1]:7000`, `unix:/run/echo.sock`.
    public let address: String

    static let forms = "tcp://HOST:PORT, udp://HOST:PORT or unix:///path"

    /// Whether `text` is written as a URL (`scheme://…`) rather than a file path.
    public static func looksLikeURL(_ text: String) -> Bool {
        guard let range = text.range(of: "://"), let first = text.first, first.isASCII, first.isLetter else { return false }
        return text[..<range.lowerBound].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
    }

    /// Reads the URL; the address itself (a numeric host, a port from 1 to 65535) is checked by the
    /// loader, as `server.address` in a file is.
    public init(parsing text: String) throws(ScenarioError) {
        func failure(_ message: String) -> ScenarioError { ScenarioError(file: text, line: 0, column: 0, key: nil, message: message) }
        guard Self.looksLikeURL(text), let separator = text.range(of: "://") else {
            throw failure("expected a URL: \(Self.forms)")
        }
        let name = text[..<separator.lowerBound].lowercased()
        guard let scheme = Scheme(rawValue: name) else {
            throw failure("'\(name)://' is not a transport sockbench loads; expected \(Self.forms)")
        }
        let rest = String(text[separator.upperBound...])
        self.text = text
        self.scheme = scheme
        if scheme == .unix {
            // unix:///path: the host part is empty and the path absolute.
            guard rest.hasPrefix("/"), rest.count > 1 else {
                throw failure("expected unix:///path, with the socket's absolute path after the third slash (unix:///run/echo.sock)")
            }
            address = "unix:" + rest
            return
        }
        guard !rest.contains("/"), !rest.contains("?"), !rest.contains("#") else {
            throw failure("a \(name) URL is only a host and a port (\(name)://HOST:PORT), with no path or query")
        }
        guard !rest.contains("@") else { throw failure("a \(name) URL has no user part: \(name)://HOST:PORT") }
        let port: Substring
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            let after = rest[rest.index(after: close)...]
            port = after.hasPrefix(":") ? after.dropFirst() : ""
        } else if let colon = rest.lastIndex(of: ":") {
            port = rest[rest.index(after: colon)...]
        } else {
            port = ""
        }
        guard !port.isEmpty else {
            throw failure("the URL needs a port: \(name)://HOST:PORT, e.g. \(name)://127.0.0.1:7000")
        }
        guard !rest.hasPrefix(":") else {
            throw failure("the URL needs a host: \(name)://HOST:PORT, e.g. \(name)://127.0.0.1\(rest)")
        }
        if port.allSatisfy({ $0 == "0" }) {
            throw failure("port 0 is no server's port; give the port the server listens on")
        }
        address = rest
    }

    /// The scenario the URL stands for, as the YAML tree a file would give: no marks, so the
    /// loader's errors about it name the URL.
    var document: Node {
        var server: [(Node, Node)] = [(Node("kind"), Node("external")), (Node("address"), Node(address))]
        // A unix address says its transport; a tcp or udp one does not.
        if scheme != .unix { server.append((Node("protocol"), Node(scheme.rawValue))) }
        let top: [(Node, Node)] = [(Node("name"), Node(text)), (Node("server"), .mapping(Node.Mapping(server))),
                                   (Node("load"), .mapping(Node.Mapping([])))]
        return .mapping(Node.Mapping(top))
    }
}

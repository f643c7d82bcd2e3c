import Yams

/// The `impair:` section: what the impairment proxy between clients and server does.
extension ScenarioLoader {
    /// TCP-only and UDP-only impairments, for the error that says which transport a key needs.
    static let udpOnlyImpairments = ["loss", "duplicate", "reorder"]
    static let tcpOnlyImpairments = ["slice", "reset_after", "stall_after", "stall_for"]

    static func impairment(_ node: Node, path: String, transport: Socket.Transport) throws(ScenarioError) -> ImpairmentSpec {
        let doc = try ScenarioDocument(file: path, path: "impair", node: node)
        try doc.checkKeys(allowed: ImpairmentSpec.keys)
        var settings: [(key: String, text: String)] = []
        for entry in doc.entries {
            guard let text = try doc.scalar(entry.key, expected: "a single value") else { continue }
            let wrongTransport = transport == .tcp ? udpOnlyImpairments : tcpOnlyImpairments
            if wrongTransport.contains(entry.key) {
                throw doc.error(entry.key, at: entry.value, "\(entry.key) applies to \(transport == .tcp ? "UDP datagrams" : "TCP connections"), and this scenario is \(transport.rawValue.uppercased())")
            }
            settings.append((entry.key, text))
        }
        do {
            return try ImpairmentSpec(settings: settings)
        } catch {
            throw doc.error(error.key, at: doc[error.key], error.message)
        }
    }
}

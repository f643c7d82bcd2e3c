extension MarkdownReport {
    /// Which shard a report is, or which shards a merged report adds up.
    static func shardProvenance(_ report: Report) -> String? {
        if let shard = report.shard {
            let late = shard.lateS.map { ", \(Format.seconds($0)) after --start-at \(shard.startAt ?? "")" } ?? ""
            return "Shard **\(shard.index)/\(shard.count)** on \(shard.host) of scenario `\(shard.scenarioHash)` "
                + "(\(plural(shard.totalConnections, "connection")) in all); started \(shard.startedAt)\(late). `sockbench merge` adds the shards up."
        }
        guard let merge = report.merge else { return nil }
        let skew = merge.skewed ? " — **skewed**: more than \(Format.seconds(merge.maxSkewS)), so their intervals cover different moments" : ""
        return "Merged from \(plural(merge.shards, "shard")) of scenario `\(merge.scenarioHash)`: latency histograms added (exact percentiles), "
            + "counts and rates summed, intervals aligned by wall clock. Window starts \(Format.seconds(merge.startSkewS)) apart\(skew)."
    }

    /// Each shard's own figures beside the merged ones.
    static func shardSection(_ shards: [ShardFigures]) -> String {
        var out = ["### Shards", "", "| shard | host | connections | messages/s | p50 | p99 | errors | window offset | late after --start-at |",
                   "|---|---|---|---|---|---|---|---|---|"]
        for shard in shards {
            out.append("| \(shard.index) | \(shard.host) | \(shard.connections) | \(Format.rate(shard.messagesPerSecond)) | \(Format.latency(shard.p50Ns)) "
                + "| \(Format.latency(shard.p99Ns)) | \(shard.errors) | \(Format.seconds(shard.offsetS)) | \(shard.lateS.map(Format.seconds) ?? "–") |")
        }
        return out.joined(separator: "\n")
    }
}

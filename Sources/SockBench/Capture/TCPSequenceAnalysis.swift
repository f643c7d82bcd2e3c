/// What the sequence analysis says about one TCP segment, by Wireshark's names
/// (`tcp.analysis.retransmission`, `tcp.analysis.out_of_order`, `tcp.analysis.zero_window`, ...).
struct SegmentAnalysis: OptionSet, Sendable {
    let rawValue: UInt16

    static let retransmission = SegmentAnalysis(rawValue: 1 << 0)
    static let fastRetransmission = SegmentAnalysis(rawValue: 1 << 1)
    static let spuriousRetransmission = SegmentAnalysis(rawValue: 1 << 2)
    static let outOfOrder = SegmentAnalysis(rawValue: 1 << 3)
    static let zeroWindow = SegmentAnalysis(rawValue: 1 << 4)
    static let zeroWindowProbe = SegmentAnalysis(rawValue: 1 << 5)
    static let zeroWindowProbeAck = SegmentAnalysis(rawValue: 1 << 6)
    static let keepAlive = SegmentAnalysis(rawValue: 1 << 7)
    static let keepAliveAck = SegmentAnalysis(rawValue: 1 << 8)
    static let duplicateAck = SegmentAnalysis(rawValue: 1 << 9)
    static let windowUpdate = SegmentAnalysis(rawValue: 1 << 10)
    /// A segment beyond the highest sequence number seen: an earlier one was not captured.
    static let previousSegmentNotCaptured = SegmentAnalysis(rawValue: 1 << 11)
    /// An ACK beyond every byte seen in the other direction.
    static let ackedUnseenSegment = SegmentAnalysis(rawValue: 1 << 12)

    /// What `tcp.analysis.retransmission` matches: plain, fast and spurious retransmissions.
    static let anyRetransmission: SegmentAnalysis = [.retransmission, .fastRetransmission, .spuriousRetransmission]
}

/// One direction of one TCP connection as Wireshark's sequence analysis tracks it
/// (`tcp_flow_t` and its `tcp_analyze_seq_info` in tshark 4.0's packet-tcp.c).
///
/// The rules below are tshark's, including its quirks (0 means "not seen yet" for a sequence or
/// acknowledgment number; the out-of-order test depends on the time since the highest segment and
/// on the connection's first RTT), because the report promises the counts tshark gives on the same
/// file. Raw (absolute) sequence numbers throughout, as tshark analyses them.
struct TCPSequenceTracker: Sendable {
    var baseSequenceSet = false
    var baseSequence: UInt32 = 0
    /// One past the highest sequence number sent (SYN and FIN count one); 0 until a segment is seen.
    var nextSequence: UInt32 = 0
    var nextSequenceTime: UInt64 = 0
    /// The acknowledgment field of this side's last segment, and when it was sent.
    var lastAck: UInt32 = 0
    var lastAckTime: UInt64 = 0
    /// The raw (unscaled) window of this side's last segment; UInt32.max before any.
    var window: UInt32 = .max
    /// Duplicate ACKs in a row; -1 after an ACK of unseen data (tshark's "neutralised" state).
    var duplicateAcks = 0
    var maxSequenceToBeAcked: UInt32 = 0
    /// The flags of this side's previous segment (a keepalive or zero-window probe makes the next ACK its answer).
    var lastSegment: SegmentAnalysis = []
}

/// A connection's sequence analysis: both directions and the connection-wide times tshark uses.
struct TCPConnectionAnalysis: Sendable {
    var toServer = TCPSequenceTracker()
    var toClient = TCPSequenceTracker()
    /// The most recent SYN (tshark's `ts_mru_syn`), and from it to the first non-SYN ACK (`ts_first_rtt`).
    var lastSynTime: UInt64 = 0
    var firstRTT: UInt64 = 0

    private static let fin = DecodedPacket.fin, syn = DecodedPacket.syn, rst = DecodedPacket.rst, ack = DecodedPacket.ack

    /// Whether a SYN starts a new connection on this 4-tuple: tshark opens a new stream when a SYN
    /// (without ACK) carries another initial sequence number than the one its direction started with.
    func isNewConnection(synSequence: UInt32, fromClient: Bool) -> Bool {
        let side = fromClient ? toServer : toClient
        return side.baseSequenceSet && synSequence != side.baseSequence
    }

    /// Analyses one segment sent by the client (`fromClient`) or the server and returns its flags:
    /// tshark's `dissect_tcp` steps around the analysis (a repeated SYN, a SYN-ACK with a new initial
    /// sequence number, the base sequence numbers), `tcp_analyze_sequence_number`, then the SYN time
    /// and first RTT the out-of-order test uses.
    mutating func analyze(sequence seq: UInt32, acknowledgment ack: UInt32, length seglen: UInt32, flags: UInt8,
                          window: UInt16, time: UInt64, fromClient: Bool) -> SegmentAnalysis {
        var fwd = fromClient ? toServer : toClient
        var rev = fromClient ? toClient : toServer
        let synOnly = flags & (Self.syn | Self.ack) == Self.syn
        if synOnly, fwd.baseSequenceSet, seq == fwd.baseSequence {
            // The same SYN again: undo what a RST sent with SEQ = the ACK received did to the flow (Wireshark issue 17616).
            fwd.nextSequence = fwd.maxSequenceToBeAcked
        }
        if flags & (Self.syn | Self.ack) == Self.syn | Self.ack, fwd.baseSequenceSet, seq != fwd.baseSequence {
            fwd.baseSequence = seq
        }
        if !fwd.baseSequenceSet {
            fwd.baseSequence = flags & Self.syn != 0 ? seq : seq &- 1
            fwd.baseSequenceSet = true
        }
        if !rev.baseSequenceSet, flags & Self.ack != 0 {
            rev.baseSequence = ack &- 1
            rev.baseSequenceSet = true
        }
        let result = Self.classify(seq: seq, ack: ack, seglen: seglen, flags: flags, window: UInt32(window), time: time,
                                   fwd: &fwd, rev: &rev, firstRTT: firstRTT)
        if fromClient {
            toServer = fwd
            toClient = rev
        } else {
            toClient = fwd
            toServer = rev
        }
        if synOnly { lastSynTime = time }
        if flags & (Self.syn | Self.ack) == Self.ack, lastSynTime != 0, firstRTT == 0 { firstRTT = time &- lastSynTime }
        return result
    }

    /// `tcp_analyze_sequence_number`: the flags of one segment, updating the sender's (`fwd`) and
    /// the receiver's (`rev`) tracker. Times are ns; differences wrap as tshark's unsigned ones do.
    static func classify(seq: UInt32, ack: UInt32, seglen: UInt32, flags: UInt8, window: UInt32, time: UInt64,
                         fwd: inout TCPSequenceTracker, rev: inout TCPSequenceTracker, firstRTT: UInt64) -> SegmentAnalysis {
        var result: SegmentAnalysis = []
        let synFinRst = flags & (syn | fin | rst) != 0
        analysis: do {
            if seglen == 1, seq == fwd.nextSequence, rev.window == 0 {
                result.insert(.zeroWindowProbe)
                break analysis
            }
            if window == 0, !synFinRst { result.insert(.zeroWindow) }
            if fwd.nextSequence != 0, sequenceLess(fwd.nextSequence, seq), flags & rst == 0 {
                result.insert(.previousSegmentNotCaptured)
            }
            if seglen <= 1, seq == fwd.nextSequence &- 1, !synFinRst { result.insert(.keepAlive) }
            let repeatsPosition = seglen == 0 && seq == fwd.nextSequence && ack == fwd.lastAck && !synFinRst
            if repeatsPosition, window != 0, window != fwd.window { result.insert(.windowUpdate) }
            if repeatsPosition, window != 0, window == fwd.window, rev.lastSegment.contains(.keepAlive) {
                result.insert(.keepAliveAck)
                break analysis
            }
            if repeatsPosition, window == 0, window == fwd.window, rev.lastSegment.contains(.zeroWindowProbe) {
                result.insert(.zeroWindowProbeAck)
                break analysis
            }
            if repeatsPosition, window != 0, window == fwd.window {
                fwd.duplicateAcks = fwd.duplicateAcks == -1 ? 1 : fwd.duplicateAcks + 1
                result.insert(.duplicateAck)
            }
        }
        if ack != fwd.lastAck { fwd.duplicateAcks = 0 }
        if rev.maxSequenceToBeAcked != 0, sequenceLess(rev.maxSequenceToBeAcked, ack), flags & Self.ack != 0 {
            if sequenceLess(rev.maxSequenceToBeAcked, rev.nextSequence) {
                rev.maxSequenceToBeAcked = rev.nextSequence
                result.insert(.ackedUnseenSegment)
            } else {
                if rev.duplicateAcks == 0 { result.insert(.ackedUnseenSegment) }
                rev.duplicateAcks = -1
            }
        }
        let occupiesSequence = seglen > 0 || flags & (syn | fin) != 0
        retransmission: if occupiesSequence, !result.contains(.keepAlive) {
            var notAdvanced = fwd.nextSequence != 0 && sequenceLess(seq, fwd.nextSequence)
            // One byte short of the highest segment with new data beyond it: after a zero-window probe, not a resend.
            if seglen > 1, fwd.nextSequence &- 1 == seq { notAdvanced = false }
            if seglen > 0, rev.lastAck != 0, !sequenceLess(rev.lastAck, seq &+ seglen) {
                result.insert(.spuriousRetransmission)
                break retransmission
            }
            if notAdvanced, rev.duplicateAcks >= 2, rev.lastAck == seq, time &- rev.lastAckTime < 20_000_000 {
                result.insert(.fastRetransmission)
                break retransmission
            }
            let outOfOrderThreshold = firstRTT == 0 ? 3_000_000 : firstRTT
            let end = seq &+ seglen &+ (flags & (syn | fin) != 0 ? 1 : 0)
            if notAdvanced, time &- fwd.nextSequenceTime < outOfOrderThreshold, fwd.nextSequence != end {
                result.insert(.outOfOrder)
                break retransmission
            }
            if notAdvanced { result.insert(.retransmission) }
        }
        var nextSequence = seq &+ seglen
        if occupiesSequence, flags & (syn | fin) != 0 { nextSequence &+= 1 }
        let probe = result.contains(.zeroWindowProbe)
        if sequenceLess(fwd.nextSequence, nextSequence) || fwd.nextSequence == 0, !probe {
            fwd.nextSequence = nextSequence
            fwd.nextSequenceTime = time
        }
        if seq == fwd.maxSequenceToBeAcked || fwd.maxSequenceToBeAcked == 0, !probe {
            fwd.maxSequenceToBeAcked = fwd.nextSequence
        }
        fwd.window = window
        fwd.lastAck = ack
        fwd.lastAckTime = time
        fwd.lastSegment = result
        return result
    }
}

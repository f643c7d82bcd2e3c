import Testing
@testable import SockBench

/// Capture windows, the observer effect measured from them, per-connection flows on a reused
/// 4-tuple, and UDP orientation without a server port: the pure parts, with every figure known.
@Suite("capture windows and flows")
struct CaptureWindowsTests {
    static let ms: UInt64 = 1_000_000
    static let s: UInt64 = 1_000_000_000

    @Test("windows close each cycle with the same share captured; the last ends with the measured window")
    func schedule() {
        var spec = CaptureSpec()
        let ten = spec.windows(duration: 10 * Self.s)
        #expect(ten.count == 5)
        #expect(ten.allSatisfy { $0.end - $0.start == 200 * Self.ms })
        #expect(ten.first?.start == 1800 * Self.ms && ten.last?.end == 10 * Self.s)
        // Shorter than a cycle: one window of the same share, at the end.
        let short = spec.windows(duration: 500 * Self.ms)
        #expect(short.count == 1 && short[0].start == 450 * Self.ms && short[0].end == 500 * Self.ms)
        // 3 s with 2 s cycles: 2 cycles of 1.5 s, windows of 150 ms.
        let odd = spec.windows(duration: 3 * Self.s)
        #expect(odd.map(\.start) == [1350 * Self.ms, 2850 * Self.ms] && odd.map(\.end) == [1500 * Self.ms, 3 * Self.s])
        // A huge duration does not trap; nothing at all for none, or in full mode.
        #expect(spec.windows(duration: UInt64(1) << 50).count > 0)
        #expect(spec.windows(duration: 0).isEmpty)
        spec.mode = .full
        #expect(spec.windows(duration: 10 * Self.s).isEmpty)
    }

    @Test("the observer effect compares the rate with capture attached to the rate without")
    func observerEffect() {
        var split = CaptureSplit()
        split.messagesInside = 18_000 // 0.2 s at 90,000/s
        split.messagesOutside = 180_000 // 1.8 s at 100,000/s
        let effect = ObserverEffect.measure(split: split, windows: [(1800 * Self.ms, 2000 * Self.ms)], measured: 2 * Self.s, bytes: false)
        #expect(effect.capturedS == 0.2 && abs(effect.uncapturedS - 1.8) < 1e-9)
        #expect(abs((effect.ratio ?? 0) - 0.9) < 1e-9)
        #expect(abs((effect.runCostPercent ?? 0) - 1.0) < 1e-9, "10% slower for 10% of the window")
        // Windows past the end are clipped; too little captured or uncaptured time gives a note, not a ratio.
        let clipped = ObserverEffect.measure(split: split, windows: [(1950 * Self.ms, 9 * Self.s)], measured: 2 * Self.s, bytes: false)
        #expect(clipped.ratio == nil && clipped.note != nil && abs(clipped.capturedS - 0.05) < 1e-9)
        let whole = ObserverEffect.measure(split: split, windows: [(0, 2 * Self.s)], measured: 2 * Self.s, bytes: false)
        #expect(whole.ratio == nil && whole.note?.contains("no uncaptured stretch") == true)
        var silent = CaptureSplit()
        silent.messagesInside = 5
        let nothing = ObserverEffect.measure(split: silent, windows: [(0, 500 * Self.ms)], measured: 2 * Self.s, bytes: false)
        #expect(nothing.ratio == nil && nothing.note?.contains("nothing was answered") == true)
    }

    @Test("capture.mode, window and every: loaded, defaulted, and refused with the key when they contradict")
    func loading() throws {
        func load(_ capture: String) throws(ScenarioError) -> Scenario {
            try ScenarioLoader.load(text: "name: t\nserver: {kind: tcp-echo}\nload: {connections: 1, duration: 1s}\ncapture: \(capture)\n", path: "t.yaml")
        }
        let defaults = try load("{}").capture
        #expect(defaults.mode == .windows && defaults.modeIsDefault && defaults.windowLength == 200 * Self.ms && defaults.windowEvery == 2 * Self.s)
        let set = try load("{mode: windows, window: 50ms, every: 1s}").capture
        #expect(!set.modeIsDefault && set.windowLength == 50 * Self.ms && set.windowEvery == Self.s)
        #expect(try load("{mode: full}").capture.mode == .full)
        for (text, key) in [("{mode: fast}", "mode"), ("{window: 2s, every: 1s}", "window"), ("{window: 1ms}", "window"),
                            ("{mode: full, window: 100ms}", "window"), ("{every: 2h}", "every")] {
            #expect {
                _ = try load(text)
            } throws: { error in
                guard let error = error as? ScenarioError else { return false }
                return error.description.contains("capture.\(key)") || error.description.contains(key)
            }
        }
    }

    @Test("a reused 4-tuple: a SYN with a new initial sequence number starts a new connection, a repeated SYN does not")
    func reusedTuple() throws {
        var analyzer = CaptureAnalyzer(configuration: .init(serverPort: 7), linkType: 1)
        let syn = DecodedPacket.syn, ack = DecodedPacket.ack, fin = DecodedPacket.fin, rst = DecodedPacket.rst
        func connection(isn: UInt32, at start: UInt64, closeWith close: UInt8) {
            let frames: [[UInt8]] = [
                FrameBuilder().tcp(from: 40_000, to: 7, flags: syn, sequence: isn),
                FrameBuilder().tcp(from: 7, to: 40_000, flags: syn | ack, sequence: 9000, acknowledgment: isn + 1),
                FrameBuilder().tcp(from: 40_000, to: 7, flags: ack, sequence: isn + 1, acknowledgment: 9001),
                FrameBuilder().tcp(from: 40_000, to: 7, flags: ack, sequence: isn + 1, acknowledgment: 9001, payload: 64),
                FrameBuilder().tcp(from: 7, to: 40_000, flags: ack, sequence: 9001, acknowledgment: isn + 65, payload: 64),
                FrameBuilder().tcp(from: 40_000, to: 7, flags: close | ack, sequence: isn + 65, acknowledgment: 9065),
            ]
            for (offset, frame) in frames.enumerated() { analyzer.feed(frame, at: start + UInt64(offset) * Self.ms) }
        }
        connection(isn: 1000, at: Self.s, closeWith: rst)
        // The SYN sent again (same initial sequence number) belongs to the connection it repeats.
        analyzer.feed(FrameBuilder().tcp(from: 40_000, to: 7, flags: syn, sequence: 1000), at: Self.s + 10 * Self.ms)
        connection(isn: 50_000, at: 2 * Self.s, closeWith: fin)
        connection(isn: 90_000, at: 3 * Self.s, closeWith: rst)
        let result = analyzer.finish()
        let tcp = try #require(result.tcp)
        #expect(result.flowCount == 3 && tcp.syn == 4 && tcp.rst == 2 && tcp.fin == 1)
        // Each connection's data is new data of its own: nothing is a retransmission but the repeated SYN.
        #expect(tcp.retransmissions == 1 && tcp.outOfOrder == 0)
        #expect(result.flows.map(\.packets.clientToServer) == [5, 4, 4])
    }

    @Test("UDP without a server port: the end many peers talk to is the server, else the first datagram's receiver")
    func udpOrientation() throws {
        // A server on a high ephemeral port answering clients on lower ports.
        var analyzer = CaptureAnalyzer(configuration: .init(), linkType: 1)
        var time: UInt64 = 0
        for client: UInt16 in [20_000, 20_001, 20_002] {
            time += 1
            // The first datagram of the first flow is the server's answer (the capture started mid-exchange).
            if client == 20_000 { analyzer.feed(FrameBuilder().udp(from: 60_000, to: client, payload: 8), at: time) }
            analyzer.feed(FrameBuilder().udp(from: client, to: 60_000, payload: 16), at: time + 1)
            analyzer.feed(FrameBuilder().udp(from: 60_000, to: client, payload: 8), at: time + 2)
        }
        let result = analyzer.finish()
        #expect(result.flows.allSatisfy { $0.server.hasSuffix(":60000") }, "\(result.flows.map(\.server))")
        #expect(result.udp?.datagrams == Directional(clientToServer: 3, serverToClient: 4))
        // One flow, no majority: the receiver of the first datagram is the server, whatever the ports.
        var single = CaptureAnalyzer(configuration: .init(), linkType: 1)
        single.feed(FrameBuilder().udp(from: 5000, to: 61_000, payload: 16), at: 1)
        single.feed(FrameBuilder().udp(from: 61_000, to: 5000, payload: 16), at: 2)
        #expect(single.finish().flows.first?.server.hasSuffix(":61000") == true)
    }
}

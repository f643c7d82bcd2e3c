import CSockBenchLinux
import Glibc

/// One UDP client of the proxy: its address, the proxy's connected socket to the server, a lane each way.
final class UDPFlow {
    let client: sockaddr_storage
    let clientLength: socklen_t
    let upstream: Int32
    var toServer = ImpairmentLane()
    var toClient = ImpairmentLane()

    init(client: sockaddr_storage, clientLength: socklen_t, upstream: Int32) {
        self.client = client
        self.clientLength = clientLength
        self.upstream = upstream
    }
}

extension ImpairmentProxy {
    /// Datagrams from clients, on the listening socket.
    func receiveFromClients() {
        while true {
            var from = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(listener, buffer, Self.bufferBytes, 0, $0, &length) }
            }
            if count < 0 { return }
            guard let index = flow(for: from, length: length) else { continue }
            let flow = flows[index]
            arrive(count, on: &flow.toServer, toServer: true)
        }
    }

    /// Datagrams from the server, on a flow's own socket.
    func receiveFromServer(_ index: Int) {
        guard index < flows.count else { return }
        let flow = flows[index]
        while true {
            let count = recv(flow.upstream, buffer, Self.bufferBytes, 0)
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { return }
                continue // ECONNREFUSED from an earlier datagram: the server is not there; go on
            }
            arrive(count, on: &flow.toClient, toServer: false)
        }
    }

    /// The flow of a client address, created (with its upstream socket) on its first datagram.
    private func flow(for address: sockaddr_storage, length: socklen_t) -> Int? {
        let key = SocketAddress(storage: address).description
        if let index = flowByClient[key] { return index }
        guard let upstreamFD = try? Socket.open(.udp, for: upstream) else { return nil }
        guard (try? Socket.startConnect(upstreamFD, to: upstream)) != nil,
              (try? epoll.add(upstreamFD, events: Epoll.readable | EPOLLET.rawValue, data: UInt64(flows.count))) != nil else {
            close(upstreamFD)
            return nil
        }
        flows.append(UDPFlow(client: address, clientLength: length, upstream: upstreamFD))
        flowByClient[key] = flows.count - 1
        statistics.connections += 1
        return flows.count - 1
    }

    /// One datagram of `count` bytes (in `buffer`) arrived: drop, duplicate, hold back or queue it.
    private func arrive(_ count: Int, on lane: inout ImpairmentLane, toServer: Bool) {
        let now = MonotonicClock.now()
        let bytes = [UInt8](UnsafeRawBufferPointer(start: buffer, count: count))
        guard spec.acts(toServer: toServer) else {
            enqueue(bytes, on: &lane, now: now, delay: 0)
            return
        }
        let arrival: UInt64
        if toServer { arrivals.toServer += 1; arrival = arrivals.toServer } else { arrivals.toClient += 1; arrival = arrivals.toClient }
        if let loss = spec.loss, loss.picks(arrival, random: &random) {
            statistics.dropped += 1
            return
        }
        let delay = delay(toServer: toServer)
        if let reorder = spec.reorder, lane.heldBack == nil, reorder.picks(arrival, random: &random) {
            lane.heldBack = HeldChunk(bytes: bytes, release: now + delay)
            statistics.reordered += 1
            return
        }
        enqueue(bytes, on: &lane, now: now, delay: delay)
        if let duplicate = spec.duplicate, duplicate.picks(arrival, random: &random) {
            statistics.duplicated += 1
            enqueue(bytes, on: &lane, now: now, delay: delay)
        }
        // A datagram held back leaves right after this one: the two swap places.
        if let held = lane.heldBack {
            lane.heldBack = nil
            enqueue(held.bytes, on: &lane, now: now, delay: delay)
        }
    }

    private func enqueue(_ bytes: [UInt8], on lane: inout ImpairmentLane, now: UInt64, delay: UInt64) {
        guard lane.count < Self.laneDatagramLimit else {
            statistics.queueDrops += 1
            return
        }
        lane.append(bytes, now: now, delay: delay, ordered: true)
    }

    /// Sends what is due on every flow; returns when next to look.
    func serviceUDP(_ now: UInt64) -> UInt64 {
        var due = now + 10_000_000
        for flow in flows {
            due = min(due, flush(flow, &flow.toServer, toServer: true, now: now))
            due = min(due, flush(flow, &flow.toClient, toServer: false, now: now))
        }
        return due
    }

    private func flush(_ flow: UDPFlow, _ lane: inout ImpairmentLane, toServer: Bool, now: UInt64) -> UInt64 {
        // A datagram held back for reordering and never overtaken leaves 10 ms after its time.
        if let held = lane.heldBack, now > held.release + 10_000_000 {
            lane.heldBack = nil
            lane.append(held)
        }
        let cap = rate(toServer: toServer)
        while let datagram = lane.first {
            if datagram.release > now { return datagram.release }
            if cap != nil, lane.nextSendAt > now { return lane.nextSendAt }
            let sent = datagram.bytes.withUnsafeBytes { raw -> Int in
                if toServer { return send(flow.upstream, raw.baseAddress!, raw.count, 0) }
                var client = flow.client
                return withUnsafePointer(to: &client) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(listener, raw.baseAddress!, raw.count, 0, $0, flow.clientLength) }
                }
            }
            if sent < 0, errno == EAGAIN || errno == ENOBUFS { return now + 100_000 }
            lane.dropFirst() // sent, or refused by a server that is not there
            guard sent >= 0 else { continue }
            if toServer { statistics.datagramsToServer += 1; statistics.bytesToServer += UInt64(sent) }
            else { statistics.datagramsToClient += 1; statistics.bytesToClient += UInt64(sent) }
            if let cap { lane.charge(sent, now: now, bitsPerSecond: cap) }
        }
        return lane.heldBack.map { $0.release + 10_000_000 } ?? UInt64.max
    }
}

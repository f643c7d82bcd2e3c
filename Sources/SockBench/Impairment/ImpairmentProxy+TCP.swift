import CSockBenchLinux
import Glibc

/// One proxied TCP connection: the client's socket, the proxy's socket to the server, a lane each way.
final class TCPPair {
    let client: Int32
    let server: Int32
    var serverConnected = false
    /// Edge-triggered readiness, remembered until a call says EAGAIN.
    var readable = [false, false]
    var writable = [false, false]
    var toServer = ImpairmentLane()
    var toClient = ImpairmentLane()
    /// Bytes forwarded both ways (reset_after, stall_after).
    var forwarded: UInt64 = 0
    var stalledUntil: UInt64 = 0
    var hasStalled = false

    init(client: Int32, server: Int32) {
        self.client = client
        self.server = server
    }
}

extension ImpairmentProxy {
    func acceptAll() {
        while true {
            let client = CSockBenchLinux_accept4(listener, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
            if client < 0 { return } // EAGAIN, or out of descriptors: the next connection retries
            let server: Int32
            do {
                server = try Socket.open(.tcp, for: upstream)
                if spec.sliceBytes != nil {
                    // Small writes must leave as small segments, not be coalesced again by Nagle.
                    Socket.setFlag(client, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, true)
                    Socket.setFlag(server, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, true)
                }
                if spec.rateBitsPerSecond != nil {
                    for fd in [client, server] {
                        var size = Self.cappedBufferBytes
                        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                    }
                }
                _ = try Socket.startConnect(server, to: upstream)
            } catch {
                resetAndClose(client)
                continue
            }
            let slot = freeSlots.popLast() ?? pairs.count
            if slot == pairs.count { pairs.append(nil) }
            pairs[slot] = TCPPair(client: client, server: server)
            let events = Epoll.readable | Epoll.writable | Epoll.hangup | EPOLLET.rawValue
            try? epoll.add(client, events: events, data: UInt64(slot) << 1)
            try? epoll.add(server, events: events, data: UInt64(slot) << 1 | 1)
            statistics.connections += 1
        }
    }

    func noteReadiness(_ data: UInt64, flags: UInt32) {
        let slot = Int(data >> 1), side = Int(data & 1)
        guard slot < pairs.count, let pair = pairs[slot] else { return }
        if flags & (Epoll.readable | Epoll.hangup) != 0 { pair.readable[side] = true }
        if flags & Epoll.writable != 0 {
            if side == 1, !pair.serverConnected {
                guard Socket.pendingError(pair.server) == 0 else {
                    closePair(slot, reset: true) // the server refused: the client sees a reset, as it would have
                    return
                }
                pair.serverConnected = true
            }
            pair.writable[side] = true
        }
    }

    /// Reads, forwards and closes what is due on every connection; returns when next to look.
    func serviceTCP(_ now: UInt64) -> UInt64 {
        var due = now + 10_000_000
        for slot in pairs.indices {
            guard let pair = pairs[slot] else { continue }
            due = min(due, pass(slot, pair, &pair.toServer, toServer: true, now: now))
            guard pairs[slot] != nil else { continue }
            due = min(due, pass(slot, pair, &pair.toClient, toServer: false, now: now))
            guard pairs[slot] != nil else { continue }
            if pair.toServer.destinationShutDown, pair.toClient.destinationShutDown { closePair(slot, reset: false) }
        }
        return due
    }

    /// One direction of a pair: reads its source into the lane, then sends what is due from it.
    /// Returns when the lane next has something to do.
    private func pass(_ slot: Int, _ pair: TCPPair, _ lane: inout ImpairmentLane, toServer: Bool, now: UInt64) -> UInt64 {
        read(slot, pair, &lane, toServer: toServer, now: now)
        guard pairs[slot] != nil else { return UInt64.max }
        return flush(slot, pair, &lane, toServer: toServer, now: now)
    }

    /// Reads what the source side has into the lane, while the lane has room.
    private func read(_ slot: Int, _ pair: TCPPair, _ lane: inout ImpairmentLane, toServer: Bool, now: UInt64) {
        let side = toServer ? 0 : 1
        guard pair.serverConnected || toServer else { return }
        while pair.readable[side], lane.queuedBytes < Self.laneByteLimit, !lane.sourceEnded {
            let count = recv(toServer ? pair.client : pair.server, buffer, Self.bufferBytes, 0)
            if count > 0 {
                lane.append([UInt8](UnsafeRawBufferPointer(start: buffer, count: count)), now: now, delay: delay(toServer: toServer), ordered: true)
            } else if count == 0 {
                lane.sourceEnded = true
                pair.readable[side] = false
            } else if errno == EAGAIN || errno == EINTR {
                pair.readable[side] = false
            } else {
                closePair(slot, reset: true) // a reset on one side is passed on to the other
                return
            }
        }
    }

    /// Sends what is due from one lane; returns when it next has something to do.
    private func flush(_ slot: Int, _ pair: TCPPair, _ lane: inout ImpairmentLane, toServer: Bool, now: UInt64) -> UInt64 {
        let destination = toServer ? pair.server : pair.client
        let side = toServer ? 1 : 0
        let cap = rate(toServer: toServer)
        var due = UInt64.max
        while let chunk = lane.first, pair.serverConnected {
            if chunk.release > now { due = chunk.release; break }
            if pair.stalledUntil > now { due = pair.stalledUntil; break }
            if cap != nil, lane.nextSendAt > now { due = lane.nextSendAt; break }
            guard pair.writable[side] else { break }
            var size = chunk.remaining
            if let slice = spec.sliceBytes, spec.acts(toServer: toServer), slice < size {
                size = slice
                statistics.slicedWrites += 1
            }
            if cap != nil { size = min(size, 16 << 10) }
            let sent = chunk.bytes.withUnsafeBytes { send(destination, $0.baseAddress! + chunk.offset, size, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EAGAIN || errno == EINTR { pair.writable[side] = false; break }
                closePair(slot, reset: true)
                return UInt64.max
            }
            lane.consume(sent)
            pair.forwarded += UInt64(sent)
            if toServer { statistics.bytesToServer += UInt64(sent) } else { statistics.bytesToClient += UInt64(sent) }
            if let cap { lane.charge(sent, now: now, bitsPerSecond: cap) }
            if let limit = spec.resetAfterBytes, pair.forwarded >= limit {
                statistics.resets += 1
                closePair(slot, reset: true)
                return UInt64.max
            }
            if let limit = spec.stallAfterBytes, !pair.hasStalled, pair.forwarded >= limit {
                pair.hasStalled = true
                pair.stalledUntil = now + spec.stallNanoseconds
                statistics.stalls += 1
            }
        }
        if lane.isEmpty, lane.sourceEnded, !lane.destinationShutDown, pair.serverConnected {
            shutdown(destination, Int32(SHUT_WR))
            lane.destinationShutDown = true
        }
        return due
    }

    /// Closes both sockets of a pair; `reset` closes them with an RST (SO_LINGER 0), as a fault would.
    func closePair(_ slot: Int, reset: Bool) {
        guard let pair = pairs[slot] else { return }
        for fd in [pair.client, pair.server] {
            epoll.remove(fd)
            if reset { resetAndClose(fd) } else { close(fd) }
        }
        pairs[slot] = nil
        freeSlots.append(slot)
    }

    func resetAndClose(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }
}

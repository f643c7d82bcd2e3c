import Foundation
import Glibc
import Testing
@testable import SockBench

@Suite("Socket options: set by kernel name, read back with getsockopt")
struct SocketOptionTests {
    static let loopback = try! SocketAddress(parsing: "127.0.0.1:0")

    @Test("requested values are read back; SO_SNDBUF comes back doubled")
    func readBack() throws {
        let fd = try Socket.open(.tcp, for: Self.loopback)
        defer { close(fd) }
        let requested = SocketOptionSet([
            .tcp_nodelay: .bool(true), .so_keepalive: .bool(true), .tcp_keepidle: .integer(5), .tcp_keepintvl: .integer(2),
            .tcp_keepcnt: .integer(4), .so_sndbuf: .integer(65_536), .so_linger: .integer(0), .ip_tos: .integer(0x10),
            .tcp_congestion: .text("reno"), .so_reuseaddr: .bool(true),
        ])
        try requested.apply(to: fd, ipv6: false, at: .beforeConnect)
        let effective = SocketOptionSet.effective(of: fd, ipv6: false, tcp: true)
        #expect(effective[.tcp_nodelay] == .bool(true))
        #expect(effective[.so_keepalive] == .bool(true))
        #expect(effective[.tcp_keepidle] == .integer(5))
        #expect(effective[.tcp_keepintvl] == .integer(2))
        #expect(effective[.tcp_keepcnt] == .integer(4))
        #expect(effective[.so_sndbuf] == .integer(131_072), "Linux doubles SO_SNDBUF")
        #expect(effective[.so_linger] == .integer(0))
        #expect(effective[.ip_tos] == .integer(0x10))
        #expect(effective[.tcp_congestion] == .text("reno"))
        let record = RunResult.RequestedEffective(requested: requested, effective: effective)
        #expect(record.mismatched == ["so_sndbuf"])
    }

    @Test("a receive buffer beyond net.core.rmem_max is clamped, and the mismatch is visible")
    func clamp() throws {
        let fd = try Socket.open(.udp, for: Self.loopback)
        defer { close(fd) }
        let rmemMax = Int((try? String(contentsOfFile: "/proc/sys/net/core/rmem_max", encoding: .utf8))?.trimmingWhitespace() ?? "") ?? 212_992
        let requested = SocketOptionSet([.so_rcvbuf: .integer(rmemMax * 4)])
        try requested.apply(to: fd, ipv6: false, at: .beforeBind)
        let effective = SocketOptionSet.effective(of: fd, ipv6: false, tcp: false)
        #expect(effective[.so_rcvbuf] == .integer(rmemMax * 2))
        #expect(effective[.tcp_nodelay] == nil, "TCP options are not read from UDP sockets")
        #expect(RunResult.RequestedEffective(requested: requested, effective: effective).mismatched == ["so_rcvbuf"])
    }

    @Test("IPv6 sockets take ip_tos as IPV6_TCLASS")
    func trafficClass() throws {
        let fd = try Socket.open(.tcp, for: try SocketAddress(parsing: "[::1]:0"))
        defer { close(fd) }
        try SocketOptionSet([.ip_tos: .integer(0x20)]).apply(to: fd, ipv6: true, at: .beforeConnect)
        #expect(SocketOptionSet.effective(of: fd, ipv6: true, tcp: true)[.ip_tos] == .integer(0x20))
    }

    @Test("an unknown congestion control fails naming the call")
    func unknownCongestion() throws {
        let fd = try Socket.open(.tcp, for: Self.loopback)
        defer { close(fd) }
        #expect(throws: SocketError.self) {
            try SocketOptionSet([.tcp_congestion: .text("nosuchcc")]).apply(to: fd, ipv6: false, at: .beforeConnect)
        }
        do {
            try SocketOptionSet([.tcp_congestion: .text("nosuchcc")]).apply(to: fd, ipv6: false, at: .beforeConnect)
        } catch {
            #expect(error.description.contains("setsockopt(TCP_CONGESTION=nosuchcc)"))
        }
    }

    @Test("option values parse as the kernel takes them")
    func parsing() {
        #expect(SocketOption.tcp_nodelay.parseValue("yes") == .bool(true))
        #expect(SocketOption.so_sndbuf.parseValue("64KiB") == .integer(65_536))
        #expect(SocketOption.so_linger.parseValue("off") == .off)
        #expect(SocketOption.tcp_keepidle.parseValue("1s") == .integer(1))
        #expect(SocketOption.tcp_keepidle.parseValue("0") == nil)
        #expect(SocketOption.ip_tos.parseValue("0x10") == .integer(16))
        #expect(SocketOption.ip_tos.parseValue("256") == nil)
        #expect(SocketOption.tcp_congestion.parseValue("bbr; rm -rf") == nil)
    }

    @Test("addresses parse for both families and print back")
    func addresses() throws {
        #expect(try SocketAddress(parsing: "127.0.0.1:80").description == "127.0.0.1:80")
        #expect(try SocketAddress(parsing: "[::1]:0").description == "[::1]:0")
        #expect(try SocketAddress(parsing: "localhost:7").description == "127.0.0.1:7")
        #expect(try SocketAddress(parsing: "[::1]:0").isLoopback)
        #expect(throws: SocketAddressError.self) { try SocketAddress(parsing: "::1:80") }
        #expect(throws: SocketAddressError.self) { try SocketAddress(parsing: "127.0.0.1:99999") }
        #expect(throws: SocketAddressError.self) { try SocketAddress(parsing: "example.com:80") }
    }
}

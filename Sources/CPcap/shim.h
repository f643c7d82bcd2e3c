#ifndef SOCKBENCH_CPCAP_SHIM_H
#define SOCKBENCH_CPCAP_SHIM_H

// libpcap, as the one Swift type that captures (PacketCapture) sees it.
#include <pcap/pcap.h>
#include <sys/socket.h>
#include <linux/filter.h>

/// SOL_PACKET / PACKET_IGNORE_OUTGOING (Linux 4.20): the kernel stops handing this packet
/// socket the packets the host sends. On `lo`, where every packet is both sent and received,
/// that skips the clone and filter run of the sent copy. Returns 0 on success.
static inline int CPcap_ignoreOutgoing(pcap_t *handle) {
    int on = 1;
    return setsockopt(pcap_fileno(handle), 263 /* SOL_PACKET */, 23 /* PACKET_IGNORE_OUTGOING */, &on, sizeof on);
}

/// Attaches a kernel filter that accepts nothing (one `ret #0`) straight to the packet socket,
/// behind libpcap's back: no packet enters the ring from now on, while the packets already in it
/// stay there to be read (pcap_setfilter would re-filter those in user space and drop them).
/// Used as a capture window closes. Returns 0 on success.
static inline int CPcap_acceptNothing(pcap_t *handle) {
    struct sock_filter code[1] = { { 0x06 /* BPF_RET | BPF_K */, 0, 0, 0 } };
    struct sock_fprog program = { 1, code };
    return setsockopt(pcap_fileno(handle), SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program);
}

/// The original length of a packet (pcap_pkthdr.len), read without Swift needing the
/// struct's layout around struct timeval.
static inline unsigned int CPcap_originalLength(const struct pcap_pkthdr *header) { return header->len; }
static inline unsigned int CPcap_capturedLength(const struct pcap_pkthdr *header) { return header->caplen; }

/// The timestamp in nanoseconds, for a handle opened with PCAP_TSTAMP_PRECISION_NANO
/// (tv_usec then holds nanoseconds).
static inline unsigned long long CPcap_timestampNanoseconds(const struct pcap_pkthdr *header) {
    return (unsigned long long)header->ts.tv_sec * 1000000000ULL + (unsigned long long)header->ts.tv_usec;
}

#endif

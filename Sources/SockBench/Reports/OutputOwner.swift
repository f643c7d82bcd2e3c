import Foundation
import Glibc

/// Who a run's files are handed to when sockbench runs as root: `sudo sockbench run` (capture needs
/// CAP_NET_RAW) otherwise leaves root-owned files, and `capture.pcap` is 0600 (packets can hold
/// secrets), so the CI runner's own user cannot upload it (actions/upload-artifact #288). Like
/// `tcpdump -Z`, sockbench gives its outputs to the user who ran sudo (`SUDO_UID`, `SUDO_GID`), or
/// to `--owner USER[:GROUP]`; the modes stay as they are (the pcap readable by that user alone).
///
/// Only what this run wrote is handed over: the run's folder and, inside it, the regular files of
/// the report's own names, never following a link (`fchownat` with `AT_SYMLINK_NOFOLLOW` relative to
/// the folder opened with `O_NOFOLLOW`), so a link planted in `--out` gives nothing away.
public struct OutputOwner: Sendable, Equatable {
    public var uid: uid_t
    public var gid: gid_t
    /// Where the owner came from, for messages: `--owner nobody` or `SUDO_UID`.
    public var source: String

    /// `--owner` when given; otherwise, running as root under sudo, the invoking user; otherwise nil.
    public static func resolve(_ option: String?, environment: [String: String], euid: uid_t = geteuid()) throws(OwnerError) -> OutputOwner? {
        guard let option else {
            guard euid == 0, let uid = environment["SUDO_UID"].flatMap(UInt32.init), uid != 0 else { return nil }
            let gid = environment["SUDO_GID"].flatMap(UInt32.init) ?? primaryGroup(of: uid) ?? uid
            return OutputOwner(uid: uid, gid: gid, source: "SUDO_UID")
        }
        guard euid == 0 else { throw OwnerError("--owner \(option): only root can give files to another user (run with sudo, or leave --owner out)") }
        let parts = option.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let user = parts.first, !user.isEmpty else { throw OwnerError("--owner \(option): expected USER or USER:GROUP (a name or a number)") }
        guard let uid = UInt32(user) ?? userID(named: user) else { throw OwnerError("--owner \(option): no user named \(user)") }
        let gid: gid_t
        if parts.count == 2 {
            guard !parts[1].isEmpty, let group = UInt32(parts[1]) ?? groupID(named: parts[1]) else {
                throw OwnerError("--owner \(option): no group named \(parts[1].isEmpty ? "(empty)" : parts[1])")
            }
            gid = group
        } else {
            gid = primaryGroup(of: uid) ?? uid
        }
        return OutputOwner(uid: uid, gid: gid, source: "--owner \(option)")
    }

    /// Hands the files named `names` in `directory` (those that are regular files) to the owner,
    /// and the folder itself when `includingFolder` (only a folder this run created: handing over
    /// an existing `--out`, `.` say, would let that user replace whatever else is in it). A folder
    /// this run created is never a link, so it is opened `O_NOFOLLOW`; an existing `--out` is
    /// opened as written, as the run wrote through it.
    public func hand(directory: String, names: [String], includingFolder: Bool) throws(OwnerError) {
        let folder = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (includingFolder ? O_NOFOLLOW : 0))
        guard folder >= 0 else { throw OwnerError("\(source): cannot open \(directory): \(String(cString: strerror(errno)))") }
        defer { close(folder) }
        if includingFolder, fchown(folder, uid, gid) != 0 {
            throw OwnerError("\(source): cannot give \(directory) to \(uid):\(gid): \(String(cString: strerror(errno)))")
        }
        for name in Set(names) where !name.contains("/") && name != "." && name != ".." {
            var status = stat()
            guard fstatat(folder, name, &status, AT_SYMLINK_NOFOLLOW) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            guard fchownat(folder, name, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw OwnerError("\(source): cannot give \(directory)/\(name) to \(uid):\(gid): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Hands one file (`--junit`) to the owner when it is a regular file; a device or FIFO is left alone.
    public func hand(file path: String) throws(OwnerError) {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return }
        guard lchown(path, uid, gid) == 0 else { throw OwnerError("\(source): cannot give \(path) to \(uid):\(gid): \(String(cString: strerror(errno)))") }
    }

    /// The folders of `path` (itself and its parents) that do not exist yet, deepest first: those a
    /// run writing to `path` creates, and may hand over.
    public static func missingFolders(_ path: String) -> [String] {
        var missing: [String] = []
        var current = URL(fileURLWithPath: path).standardizedFileURL.path
        var status = stat()
        while current != "/", !current.isEmpty, lstat(current, &status) != 0, errno == ENOENT {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        return missing
    }

    static func userID(named name: String) -> uid_t? { getpwnam(name).map { $0.pointee.pw_uid } }
    static func groupID(named name: String) -> gid_t? { getgrnam(name).map { $0.pointee.gr_gid } }
    static func primaryGroup(of uid: uid_t) -> gid_t? { getpwuid(uid).map { $0.pointee.pw_gid } }
}

public struct OwnerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

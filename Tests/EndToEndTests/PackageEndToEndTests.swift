import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The Debian package (packaging/build-deb.sh, which `make deb` runs) made from the release
/// binary: lintian reports no error; dpkg installs it into an empty directory tree (`dpkg
/// --root`, maintainer scripts run chrootless with $DPKG_ROOT) with the right files,
/// modes and owners; a higher revision upgrades it keeping an edited conffile; a purge
/// removes the package and its configuration and keeps the records. Also the bash
/// completion it installs and the man page.
final class PackageEndToEndTests: XCTestCase {
    private let fm = FileManager.default
    private var work: URL!
    private var root: URL { work.appendingPathComponent("root") }

    override func setUpWithError() throws {
        work = fm.temporaryDirectory.appendingPathComponent("tf-package-\(getpid())")
        try? fm.removeItem(at: work)
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? fm.removeItem(at: work)
    }

    func testPackageInstallsUpgradesKeepingConfigAndPurgesKeepingRecords() throws {
        guard getuid() == 0 else { return XCTFail("dpkg --root and the postinst's chown need root (CI runs as root)") }
        guard let dpkg = tool("dpkg", "dpkg"), let lintian = tool("lintian", "lintian"), tool("dpkg-shlibdeps", "dpkg-dev") != nil,
              tool("systemd-sysusers", "systemd") != nil else { return }
        let started = Date()
        guard let first = buildPackage(revision: "1"), let second = buildPackage(revision: "2") else { return }
        let built = Date()
        let lint = run(lintian, ["--fail-on", "error", first.path])
        XCTAssertEqual(lint.status, 0, "lintian:\n\(lint.out)\(lint.err)")
        XCTAssertFalse(lint.out.split(separator: "\n").contains { $0.hasPrefix("E: ") }, lint.out)
        let linted = Date()

        try makeEmptyRoot()
        let install = run(dpkg, dpkgOptions + ["-i", first.path])
        XCTAssertEqual(install.status, 0, install.out + install.err)
        try checkInstalledFiles()
        try checkInstalledConfigLoads()

        // An edited conffile survives an upgrade; the recording key is never replaced.
        let config = root.appendingPathComponent("etc/tollfreed/tollfreed.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        var calls = json["calls"] as? [String: Any] ?? [:]
        calls["max_concurrent"] = 1234
        json["calls"] = calls
        try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]).write(to: config)
        let edited = try Data(contentsOf: config)
        let key = try Data(contentsOf: root.appendingPathComponent("var/lib/tollfreed/keys/recording.key"))
        let upgrade = run(dpkg, dpkgOptions + ["-i", second.path])
        XCTAssertEqual(upgrade.status, 0, upgrade.out + upgrade.err)
        let version = second.lastPathComponent.split(separator: "_")[1]  // tollfreed_VERSION_ARCH.deb
        XCTAssertTrue(try String(contentsOf: root.appendingPathComponent("var/lib/dpkg/status"), encoding: .utf8)
            .contains("Version: \(version)\n"), "the status database names the new revision \(version)")
        XCTAssertEqual(try Data(contentsOf: config), edited, "the edited config is kept")
        XCTAssertFalse(fm.fileExists(atPath: config.path + ".dpkg-dist") || fm.fileExists(atPath: config.path + ".dpkg-new"))
        XCTAssertEqual(try Data(contentsOf: root.appendingPathComponent("var/lib/tollfreed/keys/recording.key")), key)
        try checkInstalledConfigLoads()

        // Records must outlive a purge (billing, seven-year retention).
        let record = root.appendingPathComponent("var/lib/tollfreed/cdr.sqlite")
        try Data("records".utf8).write(to: record)
        let purge = run(dpkg, dpkgOptions + ["--purge", "tollfreed"])
        XCTAssertEqual(purge.status, 0, purge.out + purge.err)
        XCTAssertTrue(purge.out.contains("purge keeps /var/lib/tollfreed"), purge.out)
        checkPurged(key: key, record: record)
        print(String(format: "PACKAGE: two packages built in %.1f s, lintian %.1f s, install/upgrade/purge %.1f s",
                     built.timeIntervalSince(started), linted.timeIntervalSince(built), Date().timeIntervalSince(linted)))
    }

    /// The completion function answers with command words, second words, options and
    /// values; every command `tollfreed --help` lists is offered.
    func testBashCompletionOffersCommandsOptionsAndValues() throws {
        guard let bash = tool("bash", "bash") else { return }
        let scratch = work.appendingPathComponent("tollfreed-example.json")
        try Data("{}".utf8).write(to: scratch)
        let lines = [
            ["ca"], ["cdr", ""], ["bill", "--format", ""], ["sms", "export", "--format", ""], ["flows", ""],
            ["help", "dr"], ["status", "--"], ["run", "--log-level", ""], ["run", "--config", "x", "--"],
            ["check-config", "--config", work.appendingPathComponent("tollfreed-ex").path], [""],
        ]
        let answers = complete(bash, lines)
        XCTAssertEqual(answers.count, lines.count, "\(answers)")
        guard answers.count == lines.count else { return }
        XCTAssertEqual(answers[0], ["calls"])
        XCTAssertEqual(answers[1], ["export"])
        XCTAssertEqual(answers[2], ["table", "csv", "json"])
        XCTAssertEqual(answers[3], ["csv", "jsonl"])
        XCTAssertEqual(answers[4], ["reload"])
        XCTAssertEqual(answers[5], ["drain"])
        XCTAssertEqual(answers[6], ["--json", "--socket", "--config", "--help"])
        XCTAssertEqual(answers[7], ["error", "warning", "notice", "info", "debug"])
        XCTAssertEqual(answers[8], ["--sip", "--rtp-ports", "--data", "--log-level", "--help"], "--config is given already")
        XCTAssertEqual(answers[9], [scratch.path])
        let usage = run(Paths.daemon, ["--help"]).out
        let commands = usageCommands(usage)
        XCTAssertTrue(commands.isSuperset(of: ["run", "bill", "status", "calls", "flows", "help"]), "\(commands) from:\n\(usage)")
        XCTAssertTrue(commands.isSubset(of: Set(answers[10])), "completion lacks \(commands.subtracting(answers[10]))")
    }

    /// docs/tollfreed.8: man reports no warning, and its COMMANDS section names every
    /// command of the usage.
    func testManPageRendersWithoutWarningsAndNamesEveryCommand() throws {
        guard let man = tool("man", "man-db") else { return }
        let page = Paths.repo.appendingPathComponent("docs/tollfreed.8").path
        let r = run(man, ["--warnings", "-E", "UTF-8", "-l", page], env: ["MANWIDTH": "80", "LC_ALL": "C.UTF-8"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "", "man --warnings complains")
        let lines = r.out.components(separatedBy: "\n")
        guard let start = lines.firstIndex(of: "COMMANDS"), let end = lines.firstIndex(of: "OPTIONS"), start < end else {
            return XCTFail("no COMMANDS and OPTIONS sections:\n\(r.out)")
        }
        let headings = Set(lines[start..<end].filter { $0.hasPrefix("       ") && !$0.hasPrefix("        ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) })
        let commands = usageCommands(run(Paths.daemon, ["--help"]).out)
        XCTAssertTrue(commands.isSubset(of: headings), "the man page lacks \(commands.subtracting(headings))")
    }

    // MARK: - The package

    /// dpkg on the tree: maintainer scripts run on this machine with DPKG_ROOT set; the
    /// dependencies (Debian's libraries) are this machine's, not the tree's.
    private var dpkgOptions: [String] { ["--root=\(root.path)", "--force-script-chrootless", "--force-depends"] }

    private func buildPackage(revision: String) -> URL? {
        let out = work.appendingPathComponent("debs")
        let r = run("/bin/bash", [Paths.repo.appendingPathComponent("packaging/build-deb.sh").path, "--revision", revision,
                                  "--out", out.path])
        guard r.status == 0, let path = r.out.split(separator: "\n").last.map(String.init), path.hasSuffix(".deb") else {
            XCTFail("packaging/build-deb.sh --revision \(revision) failed:\n\(r.out)\(r.err)")
            return nil
        }
        XCTAssertTrue(URL(fileURLWithPath: path).lastPathComponent.hasPrefix("tollfreed_"), path)
        XCTAssertTrue(path.hasSuffix("-\(revision)_amd64.deb"), path)
        return URL(fileURLWithPath: path)
    }

    /// An empty dpkg database, as debootstrap leaves one, and nothing else.
    private func makeEmptyRoot() throws {
        let admin = root.appendingPathComponent("var/lib/dpkg")
        for dir in ["info", "updates", "triggers"] {
            try fm.createDirectory(at: admin.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
        for file in ["status", "available"] { try Data().write(to: admin.appendingPathComponent(file)) }
        try fm.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
    }

    private func checkInstalledFiles() throws {
        let binary = root.appendingPathComponent("usr/bin/tollfreed").path
        expect(binary, mode: 0o755)
        let ldd = run("/usr/bin/ldd", [binary])
        XCTAssertEqual(ldd.status, 0, ldd.err)
        XCTAssertFalse(ldd.out.contains("libswift") || ldd.out.contains("libFoundation"), "needs the Swift toolchain:\n\(ldd.out)")
        for file in ["lib/systemd/system/tollfreed.service", "lib/systemd/system/tollfreed-retention.service",
                     "lib/systemd/system/tollfreed-retention.timer", "usr/lib/sysusers.d/tollfreed.conf",
                     "usr/lib/tmpfiles.d/tollfreed.conf", "usr/share/man/man8/tollfreed.8.gz", "etc/tollfreed/alerts.yml",
                     "usr/share/bash-completion/completions/tollfreed", "usr/share/tollfreed/grafana/tollfreed.json",
                     "usr/share/doc/tollfreed/copyright", "usr/share/doc/tollfreed/changelog.Debian.gz"] {
            expect(root.appendingPathComponent(file).path, mode: 0o644)
        }
        let unit = try String(contentsOf: root.appendingPathComponent("lib/systemd/system/tollfreed.service"), encoding: .utf8)
        XCTAssertTrue(unit.contains("ExecStart=/usr/bin/tollfreed run"), unit)
        XCTAssertFalse(unit.contains("/usr/local"), unit)
        XCTAssertEqual(try Data(contentsOf: root.appendingPathComponent("usr/share/bash-completion/completions/tollfreed")),
                       try Data(contentsOf: Paths.repo.appendingPathComponent("packaging/tollfreed.bash-completion")))
        // Every file in /etc/tollfreed is a conffile; the flows are there and as templates.
        let conffiles = try String(contentsOf: root.appendingPathComponent("var/lib/dpkg/info/tollfreed.conffiles"), encoding: .utf8)
        let inEtc = files(under: "etc/tollfreed")
        XCTAssertEqual(Set(conffiles.split(separator: "\n").map(String.init)), Set(inEtc.map { "/etc/tollfreed/" + $0 }))
        let flows = files(under: "CallFlows", in: Paths.repo)
        XCTAssertFalse(flows.isEmpty)
        XCTAssertEqual(files(under: "usr/share/tollfreed/CallFlows"), flows)
        XCTAssertEqual(Set(inEtc), Set(flows.map { "callflows/" + $0 } + ["tollfreed.json", "plans.json", "alerts.yml"]))
        // The service user, its directories and the recording key; the timer enabled, the daemon not.
        let (uid, gid) = try serviceAccount()
        expect(root.appendingPathComponent("var/lib/tollfreed").path, mode: 0o750, owner: uid, group: gid)
        expect(root.appendingPathComponent("var/lib/tollfreed/keys").path, mode: 0o700, owner: uid, group: gid)
        expect(root.appendingPathComponent("var/lib/tollfreed/keys/recording.key").path, mode: 0o400, owner: uid, group: gid)
        let wants = root.appendingPathComponent("etc/systemd/system")
        XCTAssertEqual(try? fm.destinationOfSymbolicLink(atPath: wants.appendingPathComponent("timers.target.wants/tollfreed-retention.timer").path),
                       "/lib/systemd/system/tollfreed-retention.timer")
        XCTAssertFalse(fm.fileExists(atPath: wants.appendingPathComponent("multi-user.target.wants/tollfreed.service").path),
                       "the daemon is not enabled before it is configured")
    }

    /// The installed binary loads the installed config and the flows it names from the tree
    /// (flows_dir is relative to the config).
    private func checkInstalledConfigLoads() throws {
        let config = root.appendingPathComponent("etc/tollfreed/tollfreed.json").path
        let r = run(root.appendingPathComponent("usr/bin/tollfreed").path, ["check-config", "--config", config])
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.contains("\(config): OK") && r.out.contains("3 flows"), r.out)
    }

    private func checkPurged(key: Data, record: URL) {
        for gone in ["usr/bin/tollfreed", "etc/tollfreed", "lib/systemd/system/tollfreed.service", "usr/share/tollfreed",
                     "usr/share/man/man8/tollfreed.8.gz", "usr/share/bash-completion/completions/tollfreed",
                     "usr/share/doc/tollfreed", "etc/systemd/system/timers.target.wants/tollfreed-retention.timer",
                     "var/lib/dpkg/info/tollfreed.list", "var/lib/dpkg/info/tollfreed.conffiles"] {
            XCTAssertFalse(fm.fileExists(atPath: root.appendingPathComponent(gone).path), "\(gone) is left after purge")
        }
        XCTAssertEqual(try? Data(contentsOf: root.appendingPathComponent("var/lib/tollfreed/keys/recording.key")), key,
                       "the recording key stays: kept recordings need it")
        XCTAssertEqual(try? Data(contentsOf: record), Data("records".utf8), "records stay")
        XCTAssertNoThrow(try serviceAccount(), "the user owning the records stays")
    }

    // MARK: - Helpers

    /// The tollfreed user's uid and gid in the tree's own /etc/passwd (systemd-sysusers --root).
    private func serviceAccount() throws -> (uid_t, gid_t) {
        let passwd = try String(contentsOf: root.appendingPathComponent("etc/passwd"), encoding: .utf8)
        guard let line = passwd.split(separator: "\n").first(where: { $0.hasPrefix("tollfreed:") }) else {
            throw NSError(domain: "package", code: 1, userInfo: [NSLocalizedDescriptionKey: "no tollfreed user in \(passwd)"])
        }
        let f = line.split(separator: ":", omittingEmptySubsequences: false)
        return (uid_t(f[2])!, gid_t(f[3])!)
    }

    private func expect(_ path: String, mode: mode_t, owner: uid_t = 0, group: gid_t = 0, line: UInt = #line) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return XCTFail("\(path) is missing", line: line) }
        XCTAssertEqual(st.st_mode & 0o7777, mode, "\(path): mode \(String(st.st_mode & 0o7777, radix: 8))", line: line)
        XCTAssertEqual(st.st_uid, owner, "\(path): owner", line: line)
        XCTAssertEqual(st.st_gid, group, "\(path): group", line: line)
    }

    /// The regular files under `dir`, relative to it, sorted.
    private func files(under dir: String, in base: URL? = nil) -> [String] {
        let top = (base ?? root).appendingPathComponent(dir).path
        let all = (fm.enumerator(atPath: top)?.allObjects as? [String]) ?? []
        return all.filter {
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: top + "/" + $0, isDirectory: &isDir) && !isDir.boolValue
        }.sorted()
    }

    /// The command words of the usage text (`tollfreed WORD ...` lines, `A | B` alternatives).
    private func usageCommands(_ usage: String) -> Set<String> {
        var words: Set<String> = []
        for line in usage.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("tollfreed ") else { continue }
            let head = text.dropFirst("tollfreed ".count).split(separator: "[").first ?? ""
            for alternative in head.components(separatedBy: " | ") {
                if let word = alternative.split(separator: " ").first, word.first?.isLetter == true { words.insert(String(word)) }
            }
        }
        return words
    }

    /// Sources the completion script and calls its function once per line of words after
    /// `tollfreed` (the last word being completed): the answers, one list per line.
    private func complete(_ bash: String, _ lines: [[String]]) -> [[String]] {
        var script = "source '\(Paths.repo.appendingPathComponent("packaging/tollfreed.bash-completion").path)'\n"
        script += "t() { COMP_WORDS=(tollfreed \"$@\"); COMP_CWORD=$#; COMPREPLY=(); _tollfreed; echo \"=${COMPREPLY[*]}\"; }\n"
        for words in lines { script += "t " + words.map { "'\($0)'" }.joined(separator: " ") + "\n" }
        let r = run(bash, ["--norc", "--noprofile", "-c", script])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "")
        return r.out.split(separator: "\n").filter { $0.hasPrefix("=") }.map { $0.dropFirst().split(separator: " ").map(String.init) }
    }

    /// A tool the test needs, or a failure naming the Debian package that has it.
    private func tool(_ name: String, _ package: String, line: UInt = #line) -> String? {
        for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] where fm.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        XCTFail("\(name) is not installed (Debian package \(package); make deps installs it)", line: line)
        return nil
    }

    /// Runs a program to completion (at most `timeout`), its stdout and stderr apart. PATH
    /// gets the sbin directories: dpkg looks for ldconfig and start-stop-daemon there.
    private func run(_ program: String, _ args: [String], env: [String: String] = [:],
                     timeout: TimeInterval = 300) -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        environment["PATH"] = (environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        p.environment = environment
        let id = UUID().uuidString
        let outURL = work.appendingPathComponent("\(id).out"), errURL = work.appendingPathComponent("\(id).err")
        _ = fm.createFile(atPath: outURL.path, contents: nil)
        _ = fm.createFile(atPath: errURL.path, contents: nil)
        defer { try? fm.removeItem(at: outURL); try? fm.removeItem(at: errURL) }
        guard let out = try? FileHandle(forWritingTo: outURL), let err = try? FileHandle(forWritingTo: errURL) else {
            return (-1, "", "cannot create output files in \(work.path)")
        }
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do { try p.run() } catch { return (-1, "", "cannot run \(program): \(error)") }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            done.wait()
        }
        try? out.close()
        try? err.close()
        let text = { (url: URL) in (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
        return (p.terminationStatus, text(outURL), text(errURL))
    }
}

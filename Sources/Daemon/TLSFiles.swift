import Configuration
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sofia-SIP reads its TLS identity from a directory (`agent.pem`: key then certificate;
/// `cafile.pem`): the configured PEM files are copied into a private directory under the
/// data directory (mode 0700, files 0600) at each start.
enum TLSFiles {
    static func prepare(_ t: DaemonConfig.TLSListener, dataDirectory: String) throws(StartupError) -> String {
        let fm = FileManager.default
        guard let key = fm.contents(atPath: t.key), let cert = fm.contents(atPath: t.certificate) else {
            throw StartupError("sip.tls: cannot read \(fm.isReadableFile(atPath: t.key) ? t.certificate : t.key)", status: 2)
        }
        let keyText = String(decoding: key, as: UTF8.self), certText = String(decoding: cert, as: UTF8.self)
        guard keyText.contains("PRIVATE KEY-----") else { throw StartupError("sip.tls: \(t.key) is not a PEM private key", status: 2) }
        guard certText.contains("BEGIN CERTIFICATE") else { throw StartupError("sip.tls: \(t.certificate) is not a PEM certificate", status: 2) }
        var st = stat()
        if stat(t.key, &st) == 0, st.st_mode & 0o077 != 0 {
            throw StartupError("sip.tls: \(t.key) is readable by others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 0600", status: 2)
        }
        let dir = (dataDirectory as NSString).appendingPathComponent("tls")
        do {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            chmod(dir, 0o700)
            for (name, text) in [("agent.pem", keyText + "\n" + certText), ("cafile.pem", certText)] {
                let path = (dir as NSString).appendingPathComponent(name)
                try? fm.removeItem(atPath: path)
                guard fm.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw StartupError("sip.tls: cannot write \(path)", status: 1)
                }
            }
        } catch let e as StartupError { throw e } catch {
            throw StartupError("sip.tls: \(error)", status: 1)
        }
        return dir
    }
}

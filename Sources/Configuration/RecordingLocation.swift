import Foundation

/// Where a recording's file is, from the URL its record keeps: URLs name a recording as
/// `recordings/<tenant>/<file>` (under `recording_url_base`) or by its `file://` path on
/// the node that made it. Locally the file is `<recordings_dir>/<tenant>/<file>`, so a
/// directory the nodes share may be mounted at different paths on each.
package enum RecordingLocation {
    /// The recordings directory when `recordings_dir` is not set: `<data_dir>/recordings`.
    package static func defaultDirectory(dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("recordings")
    }

    /// `recordings/<tenant>/<file>` of a recording's path.
    package static func relativePath(_ path: String) -> String {
        let parts = path.split(separator: "/")
        return (["recordings"] + parts.suffix(2).map(String.init)).joined(separator: "/")
    }

    /// The local path of the recording `url` names, under `directory` (the recordings
    /// directory): the `file://` path itself when it exists, else `<tenant>/<file>` of the
    /// URL under `directory`. Nil for a URL that names no recording file.
    package static func localPath(_ url: String, base: String, directory: String) -> String? {
        let tail: [Substring]
        if let u = URL(string: url), u.isFileURL {
            if FileManager.default.fileExists(atPath: u.path) { return u.path }
            tail = u.path.split(separator: "/")
        } else if !base.isEmpty, url.hasPrefix(base) {
            tail = url.dropFirst(base.count).split(separator: "/")
        } else {
            return nil
        }
        guard tail.count >= 2 else { return nil }
        return (directory as NSString).appendingPathComponent(tail.suffix(2).joined(separator: "/"))
    }
}

// swift-tools-version:6.0
// tollfreed: toll-free call-handling daemon. No third-party Swift packages: only the
// toolchain and Debian's C libraries, reached through system-library targets.
import PackageDescription

let package = Package(
    name: "tollfreed",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tollfreed", targets: ["tollfreed"]),
    ],
    targets: [
        // C libraries from Debian packages.
        .systemLibrary(name: "CSofiaSIP", pkgConfig: "sofia-sip-ua",
                       providers: [.apt(["libsofia-sip-ua-dev"])]),
        .systemLibrary(name: "CEspeakNG", pkgConfig: "espeak-ng",
                       providers: [.apt(["libespeak-ng-dev"])]),
        .systemLibrary(name: "CSpeexDSP", pkgConfig: "speexdsp",
                       providers: [.apt(["libspeexdsp-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSpanDSP", pkgConfig: "spandsp",
                       providers: [.apt(["libspandsp-dev"])]),
        .systemLibrary(name: "CPocketSphinx", pkgConfig: "pocketsphinx",
                       providers: [.apt(["libpocketsphinx-dev", "pocketsphinx-en-us"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CMpg123", pkgConfig: "libmpg123",
                       providers: [.apt(["libmpg123-dev"])]),
        .systemLibrary(name: "CMp3Lame", pkgConfig: "lame",
                       providers: [.apt(["libmp3lame-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd",
                       providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2",
                       providers: [.apt(["libsrtp2-dev"])]),
        // Thin C bridges: fixed-argument wrappers over variadic / macro-only C APIs.
        .target(name: "CSofiaBridge", dependencies: ["CSofiaSIP"]),
        .target(name: "CSQLiteBridge", dependencies: ["CSQLite"]),
        .target(name: "CMediaIO"),
        .target(name: "CCurlBridge", dependencies: ["CCurl"]),
        .target(name: "CSRTPBridge", dependencies: ["CSRTP", "CCrypto"]),

        // Swift modules, one job each.
        // Formats: the JSON and text helpers several modules share (no dependencies).
        .target(name: "Formats"),
        .target(name: "Observability", dependencies: ["CSystemd", "Formats"]),
        .target(name: "Routing"),
        .target(name: "TeXML"),
        .target(name: "Signaling", dependencies: ["CSofiaBridge", "Observability"]),
        .target(name: "Media", dependencies: ["CEspeakNG", "CSpeexDSP", "CSpanDSP", "CMediaIO", "CMpg123", "CMp3Lame", "CSRTPBridge", "Observability"]),
        .target(name: "Webhooks", dependencies: ["CCrypto", "CCurl", "CCurlBridge", "Observability"]),
        .target(name: "Transcription", dependencies: ["CPocketSphinx", "Media", "Observability"]),
        .target(name: "Metering", dependencies: ["CSQLite", "CSQLiteBridge", "Formats", "Observability"]),
        .target(name: "Compliance", dependencies: ["CCrypto", "Formats"]),
        // Records in PostgreSQL (libpq), with a local disk spool while the database is away.
        .target(name: "RecordStore", dependencies: ["CPostgres", "Metering", "Observability"]),
        // The configuration file: its model, strict reader and defaults.
        .target(name: "Configuration", dependencies: ["Formats", "Metering", "Routing", "RecordStore", "Signaling"]),
        // Calls: the pure per-call machines (CallSession, LegMachine, InviteGate) and the
        // controller that carries out their actions on the signaling thread.
        .target(name: "CallControl",
                dependencies: ["Configuration", "Observability", "Routing", "TeXML", "Signaling", "Media",
                               "Metering", "Webhooks", "Transcription", "Compliance", "RecordStore"]),
        // The running daemon: its services, start-up and shutdown order, metrics server.
        .target(name: "Daemon",
                dependencies: ["CallControl", "Configuration", "Observability", "Routing", "TeXML", "Signaling", "Media",
                               "Metering", "Webhooks", "Compliance", "RecordStore"]),
        // The command line: run, check, export, bill, simulate, compliance tools.
        .target(name: "Commands",
                dependencies: ["Daemon", "CallControl", "Configuration", "Observability", "Routing", "TeXML", "Media",
                               "Metering", "Webhooks", "Compliance", "RecordStore"]),
        .executableTarget(name: "tollfreed", dependencies: ["Commands"]),

        // Fast unit tests (no sockets) and end-to-end tests (real daemon + sipp).
        .testTarget(name: "UnitTests",
                    dependencies: ["Routing", "Signaling", "Media", "Metering", "Configuration", "CallControl", "Daemon", "Commands", "Observability", "Compliance",
                                   "RecordStore", "TeXML", "Webhooks", "Formats"]),
        .testTarget(name: "TeXMLTests", dependencies: ["TeXML"]),
        .testTarget(name: "MediaTests", dependencies: ["Media", "Observability", "CMediaIO"]),
        .testTarget(name: "WebhooksTests", dependencies: ["Webhooks", "Observability"]),
        .testTarget(name: "TranscriptionTests", dependencies: ["Transcription", "Media", "Observability"]),
        .testTarget(name: "EndToEndTests", dependencies: ["tollfreed", "Media", "Metering", "Signaling", "Observability", "RecordStore",
                                                         "TeXML"],
                    resources: [.copy("Scenarios")]),
    ],
    swiftLanguageModes: [.v6]
)

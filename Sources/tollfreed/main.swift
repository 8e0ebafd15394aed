import Foundation
import Commands

exit(tollfreedMain(Array(CommandLine.arguments.dropFirst())))

import Foundation
import TollfreedKit

exit(tollfreedMain(Array(CommandLine.arguments.dropFirst())))

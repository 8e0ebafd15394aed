/// A failure that ends the process with a message and an exit status (2 for bad input,
/// 1 for runtime failures such as an address already in use).
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
    public var status: Int32
    public init(_ d: String, status: Int32) { description = d; self.status = status }
}

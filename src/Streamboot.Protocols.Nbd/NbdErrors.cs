using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd;

/// <summary>The one place where failures of the layers below become NBD error values.</summary>
internal static class NbdErrors
{
    public static NbdError FromException(Exception exception) => exception switch
    {
        BlockDeviceException { Error: BlockDeviceError.ReadOnly } => NbdError.Perm,
        BlockDeviceException { Error: BlockDeviceError.OutOfRange } => NbdError.Inval,
        BlockDeviceException { Error: BlockDeviceError.NoSpace } => NbdError.NoSpc,
        BlockDeviceException { Error: BlockDeviceError.Io or BlockDeviceError.Corrupt } => NbdError.Io,
        NotSupportedException => NbdError.NotSup,
        OutOfMemoryException => NbdError.NoMem,
        OperationCanceledException or ObjectDisposedException => NbdError.Shutdown,
        _ => NbdError.Io,
    };

    /// <summary>The error's name as doc/proto.md spells it, lower case, for the errors metric (a bounded label).</summary>
    public static string Label(NbdError error) => error switch
    {
        NbdError.Perm => "eperm",
        NbdError.Io => "eio",
        NbdError.NoMem => "enomem",
        NbdError.Inval => "einval",
        NbdError.NoSpc => "enospc",
        NbdError.Overflow => "eoverflow",
        NbdError.NotSup => "enotsup",
        NbdError.Shutdown => "eshutdown",
        _ => "other",
    };

    /// <summary>Failures the client caused or expects; everything else is logged as a warning.</summary>
    public static bool IsExpected(Exception exception) =>
        exception is BlockDeviceException { Error: BlockDeviceError.ReadOnly or BlockDeviceError.OutOfRange or BlockDeviceError.NoSpace }
            or NotSupportedException or OperationCanceledException;
}

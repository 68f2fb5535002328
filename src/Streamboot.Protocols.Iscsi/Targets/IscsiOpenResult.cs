using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Iscsi.Targets;

/// <summary>
/// An opened target: the block device its logical unit serves (disposed,
/// exactly once, when the session ends), whether it takes writes, and a
/// description for logs. Or why not.
/// </summary>
public sealed class IscsiOpenResult
{
    private IscsiOpenResult(IBlockDevice? device, bool readOnly, IscsiOpenError error, string? message)
    {
        Device = device;
        ReadOnly = readOnly;
        Error = error;
        Message = message;
    }

    public IBlockDevice? Device { get; }

    public bool ReadOnly { get; }

    public IscsiOpenError Error { get; }

    public string? Message { get; }

    public bool Ok => Device is not null;

    public static IscsiOpenResult Opened(IBlockDevice device, bool readOnly) => new(device, readOnly, default, null);

    public static IscsiOpenResult Failed(IscsiOpenError error, string message) => new(null, false, error, message);
}

namespace Streamboot.Storage.BlockDevices;

/// <summary>
/// A request a layer could not carry out. <see cref="Error"/> tells the
/// protocol what to answer; the message names the file and the problem.
/// </summary>
public sealed class BlockDeviceException : IOException
{
    public BlockDeviceException(BlockDeviceError error, string message)
        : base(message) => Error = error;

    public BlockDeviceException(BlockDeviceError error, string message, Exception innerException)
        : base(message, innerException) => Error = error;

    public BlockDeviceError Error { get; }

    /// <summary>Takes the size, not the device: no interface call on the hot path.</summary>
    internal static void ThrowIfOutOfRange(long size, long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > size - length)
        {
            throw new BlockDeviceException(
                BlockDeviceError.OutOfRange,
                $"Request [{offset}, +{length}) is outside the device of {size} bytes.");
        }
    }
}

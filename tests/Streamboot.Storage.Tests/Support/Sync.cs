using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Tests.Support;

/// <summary>Blocking helpers so property tests read like the model they compare against.</summary>
public static class Sync
{
    public static byte[] Read(this IBlockDevice device, long offset, int length)
    {
        var buffer = new byte[length];
        device.ReadAsync(offset, buffer).AsTask().GetAwaiter().GetResult();
        return buffer;
    }

    public static void Write(this IBlockDevice device, long offset, byte[] data, WriteFlags flags = WriteFlags.None) =>
        device.WriteAsync(offset, data, flags).AsTask().GetAwaiter().GetResult();

    public static void Trim(this IBlockDevice device, long offset, long length) =>
        device.TrimAsync(offset, length).AsTask().GetAwaiter().GetResult();

    public static void Zero(this IBlockDevice device, long offset, long length, WriteFlags flags = WriteFlags.None) =>
        device.WriteZeroesAsync(offset, length, flags).AsTask().GetAwaiter().GetResult();

    public static void Flush(this IBlockDevice device) => device.FlushAsync().AsTask().GetAwaiter().GetResult();

    public static void Close(this IBlockDevice device) => device.DisposeAsync().AsTask().GetAwaiter().GetResult();

    public static byte[] Pattern(int length, byte seed)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = (byte)(seed + (i * 7) + (i >> 9));
        }

        return data;
    }
}

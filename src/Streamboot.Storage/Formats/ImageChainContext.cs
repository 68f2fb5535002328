using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Formats;

/// <summary>
/// The files already opened while following backing file names, so that a
/// loop (A backed by B backed by A) or an absurdly deep chain is reported
/// instead of recursing until the stack overflows.
/// </summary>
internal sealed class ImageChainContext
{
    public const int MaxDepth = 256;

    private readonly HashSet<string> _opened = new(StringComparer.Ordinal);

    public void Enter(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var real = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        if (!_opened.Add(real))
        {
            throw new BlockDeviceException(BlockDeviceError.Corrupt, $"{path}: backing file loop: {real} is already in this chain ({string.Join(" -> ", _opened)}).");
        }

        if (_opened.Count > MaxDepth)
        {
            throw new BlockDeviceException(BlockDeviceError.Corrupt, $"{path}: the backing chain is deeper than {MaxDepth} images.");
        }
    }
}

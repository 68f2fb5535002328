using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Streaming;

/// <summary>The top of a session's stack: runs an action when the session disposes it, then disposes the stack.</summary>
internal sealed class SessionEndHook(IBlockDevice inner, Action ended) : BlockDeviceFilter(inner)
{
    public override ValueTask DisposeAsync()
    {
        ended();
        return Next.DisposeAsync();
    }
}

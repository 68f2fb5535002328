using Streamboot.Sessions.Views;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Nbd;

/// <summary>
/// A session's device as one connection sees it: disposing it (the protocol
/// does, exactly once, however the connection ends) lets go of the
/// connection's view instead of closing the shared device.
/// </summary>
internal sealed class LeasedBlockDevice(SessionView view) : BlockDeviceFilter(view.Device)
{
    public override ValueTask DisposeAsync() => view.DisposeAsync();
}

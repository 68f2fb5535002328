using Streamboot.Server.Streaming;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Nbd;

/// <summary>
/// A session's device as one connection sees it: disposing it (the protocol
/// does, exactly once, however the connection ends) releases the
/// connection's lease on the shared session instead of closing the device.
/// </summary>
internal sealed class LeasedBlockDevice(SessionLease lease) : BlockDeviceFilter(lease.Device)
{
    public override ValueTask DisposeAsync() => lease.DisposeAsync();
}

using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Streaming;

/// <summary>A session's block device and how to ask the size of its write cache.</summary>
public sealed record OpenedStack(IBlockDevice Device, Func<long> WriteCacheBytes);

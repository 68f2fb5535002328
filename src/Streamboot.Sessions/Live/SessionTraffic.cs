namespace Streamboot.Sessions.Live;

/// <summary>A live session's traffic, as its row records it.</summary>
internal readonly record struct SessionTraffic(long SessionId, long BytesRead, long BytesWritten, long WriteCacheBytes);

namespace Streamboot.Storage.Stacks;

/// <summary>Where a session's writes go: the top layer of its stack.</summary>
public enum WriteCacheLayer
{
    /// <summary>Nowhere: the session reads only (a shared view, or a client that keeps its writes on its own disk or RAM).</summary>
    ReadOnly,

    /// <summary>A qcow2 overlay file of the session's own over the shared layers, durable at flush.</summary>
    Qcow2File,

    /// <summary>Server RAM up to a limit, then an overflow file.</summary>
    Ram,

    /// <summary>Into the image itself, opened writable and not shared (a private image, a version in maintenance).</summary>
    InPlace,
}

namespace Streamboot.Storm;

/// <summary>
/// A server the storm boots clients from: where the boot script is, which
/// processes to sample, which files to drop from the page cache before the
/// storm. Each is started once per storm size and killed by its PID.
/// </summary>
internal interface IStormTarget : IAsyncDisposable
{
    /// <summary>The row's name in the report.</summary>
    string Name { get; }

    /// <summary>How it was configured, for the report.</summary>
    string Description { get; }

    /// <summary>The URL clients ask with <c>?mac=</c>.</summary>
    string ScriptUrl { get; }

    /// <summary>The processes (and, through the sampler, their children) that make the server.</summary>
    IReadOnlyList<int> Pids { get; }

    /// <summary>The image and boot files, evicted from the page cache before the storm.</summary>
    IReadOnlyList<string> Files { get; }

    /// <summary>The earliest time the storm may start (Streamboot: once the preparation's boots left its booting window).</summary>
    DateTime ReadyAt { get; }
}

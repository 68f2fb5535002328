using System.Collections.Concurrent;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Storage.Formats;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>
/// The tests' stand-in for the server layer: export names map to image files
/// (raw or qcow2, opened through ImageChain), and every session end is recorded.
/// </summary>
public sealed class FileExportProvider : INbdExportProvider
{
    private readonly ConcurrentDictionary<string, ExportDefinition> _exports = new(StringComparer.Ordinal);

    public ConcurrentQueue<NbdSessionSummary> EndedSessions { get; } = new();

    public int OpenCount => _openCount;

    private int _openCount;

    public void Add(string name, string path, bool readOnly = false, string? description = null, int minimumBlockSize = 1, bool refuse = false)
        => _exports[name] = new ExportDefinition(path, readOnly, description, minimumBlockSize, refuse);

    public ValueTask<IReadOnlyList<NbdExportListing>> ListExportsAsync(NbdConnectionInfo connection, CancellationToken cancellationToken)
    {
        IReadOnlyList<NbdExportListing> list = [.. _exports.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new NbdExportListing(e.Key, e.Value.Description))];
        return ValueTask.FromResult(list);
    }

    public ValueTask<NbdOpenResult> OpenAsync(string name, NbdOpenPurpose purpose, NbdConnectionInfo connection, CancellationToken cancellationToken)
    {
        if (!_exports.TryGetValue(name, out var definition))
        {
            return ValueTask.FromResult(NbdOpenResult.Failed(NbdOpenError.Unknown, $"no export named '{name}'"));
        }

        if (definition.Refuse)
        {
            return ValueTask.FromResult(NbdOpenResult.Failed(NbdOpenError.Refused, "this client may not use the export"));
        }

        Interlocked.Increment(ref _openCount);
        var device = ImageChain.Open(definition.Path, definition.ReadOnly);
        var export = new NbdExport(name, device)
        {
            Description = definition.Description,
            ReadOnly = definition.ReadOnly,
            AllowMultiConn = true,
            MinimumBlockSize = definition.MinimumBlockSize,
            SessionEnded = summary =>
            {
                EndedSessions.Enqueue(summary);
                return ValueTask.CompletedTask;
            },
        };
        return ValueTask.FromResult(NbdOpenResult.Opened(export));
    }

    private sealed record ExportDefinition(string Path, bool ReadOnly, string? Description, int MinimumBlockSize, bool Refuse);
}

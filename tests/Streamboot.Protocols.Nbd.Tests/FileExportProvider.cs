using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
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

    /// <summary>READs served from a mapping of the device (sendfile) rather than a copy.</summary>
    public long MappedReads => Interlocked.Read(ref _mappedReads);

    /// <summary>Bytes read from <paramref name="export"/>'s device into buffers (the copy path).</summary>
    public long BytesRead(string export) => _bytesRead.TryGetValue(export, out var box) ? Interlocked.Read(ref box.Value) : 0;

    private readonly ConcurrentDictionary<string, StrongBox<long>> _bytesRead = new(StringComparer.Ordinal);

    private int _openCount;
    private long _mappedReads;

    private readonly Dictionary<string, (Storage.BlockDevices.IBlockDevice Device, int Handles)> _open = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);

    public void Add(string name, string path, bool readOnly = false, string? description = null, int minimumBlockSize = 1, bool refuse = false)
        => _exports[name] = new ExportDefinition(path, readOnly, description, minimumBlockSize, refuse, null);

    /// <summary>An export whose device stack <paramref name="open"/> builds (opened once, shared by its connections).</summary>
    public void Add(string name, Func<Storage.BlockDevices.IBlockDevice> open, bool readOnly = false)
        => _exports[name] = new ExportDefinition("", readOnly, null, 1, false, open);

    public ValueTask<IReadOnlyList<NbdExportListing>> ListExportsAsync(NbdConnectionInfo connection, CancellationToken cancellationToken)
    {
        IReadOnlyList<NbdExportListing> list = [.. _exports.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new NbdExportListing(e.Key, e.Value.Description))];
        return ValueTask.FromResult(list);
    }

    public async ValueTask<NbdOpenResult> OpenAsync(string name, NbdOpenPurpose purpose, NbdConnectionInfo connection, CancellationToken cancellationToken)
    {
        if (!_exports.TryGetValue(name, out var definition))
        {
            return NbdOpenResult.Failed(NbdOpenError.Unknown, $"no export named '{name}'");
        }

        if (definition.Refuse)
        {
            return NbdOpenResult.Failed(NbdOpenError.Refused, "this client may not use the export");
        }

        Interlocked.Increment(ref _openCount);
        var device = await AcquireAsync(name, definition);
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
        return NbdOpenResult.Opened(export);
    }

    /// <summary>
    /// Waits until every export's device is closed: a client's exit does not
    /// wait for the server to close its side, and a writable image stays
    /// locked (and its last writes unflushed) until then.
    /// </summary>
    public async Task WaitUntilClosedAsync()
    {
        for (var i = 0; i < 400; i++)
        {
            await _gate.WaitAsync();
            try
            {
                if (_open.Count == 0)
                {
                    return;
                }
            }
            finally
            {
                _gate.Release();
            }

            await Task.Delay(25);
        }

        throw new TimeoutException("export devices still open 10 s after the clients finished");
    }

    private async ValueTask<SharedDevice> AcquireAsync(string name, ExportDefinition definition)
    {
        await _gate.WaitAsync();
        try
        {
            var entry = _open.TryGetValue(name, out var open) ? open : (Device: definition.Open?.Invoke() ?? ImageChain.Open(definition.Path, definition.ReadOnly), Handles: 0);
            _open[name] = (entry.Device, entry.Handles + 1);
            return new SharedDevice(entry.Device, () => ReleaseAsync(name), () => Interlocked.Increment(ref _mappedReads), n => Interlocked.Add(ref _bytesRead.GetOrAdd(name, _ => new StrongBox<long>()).Value, n));
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask ReleaseAsync(string name)
    {
        await _gate.WaitAsync();
        try
        {
            var (device, handles) = _open[name];
            if (handles > 1)
            {
                _open[name] = (device, handles - 1);
                return;
            }

            _open.Remove(name);
            if (!device.Capabilities.HasFlag(Storage.BlockDevices.BlockDeviceCapabilities.ReadOnly))
            {
                await device.FlushAsync();
            }

            await device.DisposeAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    private sealed record ExportDefinition(string Path, bool ReadOnly, string? Description, int MinimumBlockSize, bool Refuse, Func<Storage.BlockDevices.IBlockDevice>? Open);
}

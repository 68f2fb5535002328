using System.Collections.Concurrent;
using Streamboot.Protocols.Iscsi.Targets;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats.Raw;

namespace Streamboot.Protocols.Iscsi.Tests;

/// <summary>
/// Targets over raw image files for the tests: open ones, and ones behind
/// CHAP with a name, a secret and a target secret. Every session of a
/// target shares one opened device, as the session layer shares a device's
/// session among its connections.
/// </summary>
public sealed class FileTargetProvider : IIscsiTargetProvider
{
    private readonly ConcurrentDictionary<string, Target> _targets = new(StringComparer.OrdinalIgnoreCase);
    private int _opens;
    private int _closes;

    public int Opens => _opens;

    public int Closes => _closes;

    public void Add(string name, string path, bool readOnly = false, string? chapName = null, string? secret = null, string? targetSecret = null) =>
        _targets[name] = new Target(path, readOnly, chapName, secret, targetSecret);

    public ValueTask<IReadOnlyList<string>> ListTargetsAsync(IscsiConnectionInfo connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>([.. _targets.Where(t => t.Value.Secret is null).Select(t => t.Key).Order(StringComparer.Ordinal)]);

    public ValueTask<IscsiTargetLookup> FindAsync(string targetName, IscsiConnectionInfo connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult(!_targets.TryGetValue(targetName, out var target) ? IscsiTargetLookup.NotFound
            : target.Secret is null ? IscsiTargetLookup.Anonymous : IscsiTargetLookup.ChapRequired);

    public ValueTask<IscsiGrant?> ProveAsync(string targetName, IscsiChapProof proof, IscsiConnectionInfo connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_targets.TryGetValue(targetName, out var target) && target.Secret is { } secret && proof.Name == target.ChapName && proof.Proves(secret)
            ? new IscsiGrant("granted", target.TargetSecret)
            : null);

    public ValueTask<IscsiOpenResult> OpenAsync(string targetName, IscsiGrant? grant, IscsiConnectionInfo connection, CancellationToken cancellationToken)
    {
        if (!_targets.TryGetValue(targetName, out var target))
        {
            return ValueTask.FromResult(IscsiOpenResult.Failed(IscsiOpenError.NotFound, "no such target"));
        }

        Interlocked.Increment(ref _opens);
        lock (target)
        {
            target.Device ??= RawBlockDevice.Open(target.Path, readOnly: false);
            target.Holders++;
        }

        return ValueTask.FromResult(IscsiOpenResult.Opened(new Hold(this, target), target.ReadOnly));
    }

    private sealed class Target(string path, bool readOnly, string? chapName, string? secret, string? targetSecret)
    {
        public string Path { get; } = path;

        public bool ReadOnly { get; } = readOnly;

        public string? ChapName { get; } = chapName;

        public string? Secret { get; } = secret;

        public string? TargetSecret { get; } = targetSecret;

        public IBlockDevice? Device { get; set; }

        public int Holders { get; set; }
    }

    /// <summary>A session's hold on the shared device: the last one to let go closes it.</summary>
    private sealed class Hold(FileTargetProvider provider, Target target) : BlockDeviceFilter(target.Device!)
    {
        private int _released;

        public override async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                throw new InvalidOperationException("a session's device was disposed twice");
            }

            Interlocked.Increment(ref provider._closes);
            IBlockDevice? close = null;
            lock (target)
            {
                if (--target.Holders == 0)
                {
                    close = target.Device;
                    target.Device = null;
                }
            }

            if (close is not null)
            {
                await close.DisposeAsync();
            }
        }
    }
}

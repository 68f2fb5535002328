using Streamboot.Admin;
using Streamboot.Admin.Stores;

namespace Streamboot.Server.Farm;

/// <summary>The farm's secret, read from the database (made there by the first server that needs it) once per process.</summary>
internal sealed class FarmSecret(AdminSite site)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private byte[]? _secret;

    public async Task<byte[]> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _secret) is { } known)
        {
            return known;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _secret ??= await new StoreAdmin(site).FarmSecretAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }
}

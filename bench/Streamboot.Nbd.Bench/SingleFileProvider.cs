using Streamboot.Protocols.Nbd;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;

namespace Streamboot.Nbd.Bench;

/// <summary>Serves one image file under any export name; one device shared by all connections.</summary>
internal sealed class SingleFileProvider(IBlockDevice device, string path) : INbdExportProvider
{
    public ValueTask<IReadOnlyList<NbdExportListing>> ListExportsAsync(NbdConnectionInfo connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<NbdExportListing>>([new NbdExportListing("", path)]);

    public ValueTask<NbdOpenResult> OpenAsync(string name, NbdOpenPurpose purpose, NbdConnectionInfo connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult(NbdOpenResult.Opened(new NbdExport(name, device) { AllowMultiConn = true, LeaveDeviceOpen = true }));

    public static SingleFileProvider Open(string path, bool readOnly) => new(ImageChain.Open(path, readOnly), path);
}

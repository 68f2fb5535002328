using Streamboot.Data.Model;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;

namespace Streamboot.Server.Streaming;

/// <summary>
/// Builds the block device a session streams, from its plan. Read-only views
/// and client-disk mode read the version chain; private images and versions
/// in maintenance are written in place; server-disk mode puts the device's
/// writes in a qcow2 overlay of its own, <c>DATA/cache/VDISK/DEVICE.vN.qcow2</c>,
/// whose backing file is the version it booted. The overlay outlives the
/// connection, so a client that reconnects within one boot keeps its writes;
/// it is replaced when the device boots another version.
/// </summary>
public sealed class WriteCacheStore(string dataFolder)
{
    public string Root { get; } = Path.Combine(dataFolder, "cache");

    /// <summary>The overlay file for a device's session on a version.</summary>
    public string OverlayPath(string vdisk, string device, int version) =>
        Path.Combine(Root, vdisk, $"{device}.v{version}.qcow2");

    public IBlockDevice Open(Admin.StreamPlan plan)
    {
        if (plan.ReadOnly || plan.Device is null)
        {
            return ImageChain.Open(plan.TopFile, readOnly: true);
        }

        switch (plan.WriteCacheMode)
        {
            case WriteCacheMode.None:
                return ImageChain.Open(plan.TopFile, readOnly: false);
            case WriteCacheMode.ServerDisk:
            case WriteCacheMode.ServerRam:
                var overlay = OverlayPath(plan.VDisk, plan.Device, plan.Version);
                Directory.CreateDirectory(Path.GetDirectoryName(overlay)!);
                // Overlays of other versions are from earlier boots: gone.
                foreach (var stale in Directory.GetFiles(Path.GetDirectoryName(overlay)!, $"{plan.Device}.v*.qcow2").Where(f => f != overlay))
                {
                    File.Delete(stale);
                }

                if (!File.Exists(overlay))
                {
                    Qcow2Image.Create(overlay, plan.SizeBytes, backingFile: plan.TopFile, backingFormat: ImageChain.Probe(plan.TopFile) == Storage.Formats.ImageFormat.Qcow2 ? "qcow2" : "raw");
                }

                return ImageChain.Open(overlay, readOnly: false);
            default:
                return ImageChain.Open(plan.TopFile, readOnly: true);
        }
    }

    /// <summary>Bytes the device's write cache holds on the server (0 where writes stay elsewhere).</summary>
    public long SizeOf(Admin.StreamPlan plan)
    {
        if (plan.Device is null || plan.WriteCacheMode is not (WriteCacheMode.ServerDisk or WriteCacheMode.ServerRam))
        {
            return 0;
        }

        var overlay = new FileInfo(OverlayPath(plan.VDisk, plan.Device, plan.Version));
        return overlay.Exists ? overlay.Length : 0;
    }

    /// <summary>Discards a device's write cache: its next boot starts clean (not for persistent caches).</summary>
    public void Discard(string vdisk, string device)
    {
        var folder = Path.Combine(Root, vdisk);
        if (Directory.Exists(folder))
        {
            foreach (var file in Directory.GetFiles(folder, $"{device}.v*.qcow2"))
            {
                File.Delete(file);
            }
        }
    }
}

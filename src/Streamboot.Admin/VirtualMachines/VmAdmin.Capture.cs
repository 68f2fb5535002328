using Streamboot.Admin.Views;
using Streamboot.Data.Model;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Import;
using Streamboot.Vms;

namespace Streamboot.Admin.VirtualMachines;

public sealed partial class VmAdmin
{
    /// <summary>
    /// Turns a stopped VM's disk into a vDisk: a new one (a full copy, holes
    /// kept as holes), or with <paramref name="newVersion"/> the next version
    /// of an existing one, a copy-on-write layer holding only the blocks that
    /// differ from the version below (it opens in maintenance and moves on to
    /// <paramref name="stage"/> when given). The VM is untouched.
    /// </summary>
    public async Task<AdminResult<VDiskView>> CaptureAsync(
        string name,
        string vdiskName,
        bool newVersion,
        string? format = null,
        string? access = null,
        string? writeCache = null,
        string? description = null,
        string? stage = null,
        IProgress<(long Done, long Total)>? progress = null,
        CancellationToken cancellationToken = default)
    {
        VirtualMachine vm;
        await using (var db = site.Database.CreateContext())
        {
            var found = await FindAsync(db, name, cancellationToken);
            if (!found.Ok)
            {
                return found.Error;
            }

            vm = found.Value;
        }

        if (vm.DiskFile is null)
        {
            return AdminError.Refused($"VM '{vm.Name}' is a diskless client: it has no disk to capture");
        }

        if (VmRuntime.State(new VmFolder(vm.Folder)) is { Running: true })
        {
            return AdminError.Refused($"VM '{vm.Name}' is running; shut it down first (streamboot vm stop {vm.Name}), so its disk is consistent");
        }

        if (!File.Exists(vm.DiskFile))
        {
            return AdminError.Failed($"the VM's disk {vm.DiskFile} is missing");
        }

        if (Vms.Disks.BlockDevice.KernelName(vm.DiskFile) is not null)
        {
            return AdminError.Refused($"VM '{vm.Name}' runs on the physical disk {vm.DiskFile}; copy it into an image first (qemu-img convert -O qcow2 {vm.DiskFile} FILE), then vdisk import FILE");
        }

        var text = description ?? $"captured from VM {vm.Name}";
        if (!newVersion)
        {
            if (stage is not null)
            {
                return AdminError.Invalid("--stage applies to --new-version; a new vDisk starts in production");
            }

            if ((await new VDiskAdmin(site).ShowAsync(vdiskName, cancellationToken)).Ok)
            {
                return AdminError.Conflict($"vDisk '{vdiskName}' already exists; capture into it as its next version with --new-version (only the changed blocks), or give another --vdisk name");
            }

            return await new VDiskAdmin(site).ImportAsync(vdiskName, vm.DiskFile, null, format ?? "qcow2", access, writeCache, text, progress, cancellationToken);
        }

        if (format is not null || access is not null || writeCache is not null)
        {
            return AdminError.Invalid("a new version keeps its vDisk's format, access and write cache; leave out --format, --access and --write-cache");
        }

        if (stage is not null && !Data.KebabCase.TryParse<VersionStage>(stage, out _))
        {
            return AdminError.Invalid($"'{stage}' is not a stage; use maintenance, test or production");
        }

        var existing = await new VDiskAdmin(site).ShowAsync(vdiskName, cancellationToken);
        if (!existing.Ok)
        {
            return existing.Error;
        }

        var size = ImageChain.ReadVirtualSize(vm.DiskFile);
        if (size != existing.Value.SizeBytes)
        {
            return AdminError.Refused($"the VM's disk is {ByteSize.Format(size)} and vDisk '{existing.Value.Name}' is {ByteSize.Format(existing.Value.SizeBytes)}; a version has its vDisk's size (capture into a new vDisk instead)");
        }

        var versions = new VersionAdmin(site);
        var opened = await versions.NewAsync(vdiskName, text, cancellationToken);
        if (!opened.Ok)
        {
            return opened.Error;
        }

        var top = opened.Value.Versions[^1];
        var topPath = Path.Combine(opened.Value.StorePath, top.File);
        try
        {
            var source = ImageChain.Open(vm.DiskFile, readOnly: true);
            try
            {
                var destination = ImageChain.Open(topPath, readOnly: false);
                try
                {
                    var bytes = progress is null ? null : new ProgressRelay<long>(done => progress.Report((done, size)));
                    await ImageCopier.CopyChangesAsync(source, destination, progress: bytes, cancellationToken: cancellationToken);
                }
                finally
                {
                    await destination.DisposeAsync();
                }
            }
            finally
            {
                await source.DisposeAsync();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BlockDeviceException or OperationCanceledException)
        {
            // Take the half-written version back: the vDisk is as it was.
            await versions.RollbackAsync(vdiskName, CancellationToken.None);
            return e is OperationCanceledException
                ? AdminError.Failed("capture cancelled; the new version was rolled back")
                : AdminError.Failed($"cannot capture {vm.DiskFile}: {e.Message} (the new version was rolled back)");
        }

        await using (var db = site.Database.CreateContext())
        {
            site.Audit(db, "vm.capture", vm.Name, new { vdisk = vdiskName, version = top.Number, disk = vm.DiskFile });
            await db.SaveChangesAsync(cancellationToken);
        }

        return stage is null || stage.Equals("maintenance", StringComparison.OrdinalIgnoreCase)
            ? await new VDiskAdmin(site).ShowAsync(vdiskName, cancellationToken)
            : await versions.PromoteAsync(vdiskName, stage, cancellationToken);
    }
}

using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.Import;
using Streamboot.Vms.Disks;
using Streamboot.Vms.Qemu;

namespace Streamboot.Admin.VirtualMachines;

public sealed partial class VmAdmin
{
    /// <summary>
    /// The wizard's disk questions: the controller and disk type, then a
    /// new disk (size, format, allocation, file), an existing image (copied,
    /// or attached with <see cref="VmRequest.AttachDisk"/>) or a physical
    /// disk (always attached, with a warning in <paramref name="notes"/>).
    /// </summary>
    private async Task<AdminResult<VmDiskPlan>> PlanDiskAsync(StreambootDbContext db, VmRequest request, string folder, string machine, GuestOsFamily family, VmDefaults defaults, List<string> notes, CancellationToken cancellationToken)
    {
        var bus = QemuArguments.DefaultDiskBus(family, machine);
        if (request.DiskBus is not null && !KebabCase.TryParse(request.DiskBus, out bus))
        {
            return AdminError.Invalid($"'{request.DiskBus}' is not a disk type; use virtio-blk, virtio-scsi, sata, nvme or ide");
        }

        if (bus == VmDiskBus.Ide && QemuSystem.IsQ35(machine))
        {
            return AdminError.Invalid($"the {machine} machine has no IDE controller (its disks are SATA); use --disk-bus sata, or --machine pc for IDE");
        }

        var format = ImageFormat.Qcow2;
        if (request.DiskFormat is not null && !KebabCase.TryParse(request.DiskFormat, out format))
        {
            return AdminError.Invalid($"'{request.DiskFormat}' is not a disk format; use qcow2 or raw");
        }

        if (string.IsNullOrWhiteSpace(request.ExistingDisk))
        {
            if (request.AttachDisk)
            {
                return AdminError.Invalid("--attach uses an existing disk where it is; give it with --existing-disk PATH");
            }

            var size = request.DiskSizeBytes ?? defaults.DiskSizeBytes;
            if (size < VmDefaults.MinimumDiskBytes)
            {
                return AdminError.Invalid($"a disk of {ByteSize.Format(size)} is too small; the minimum is {ByteSize.Format(VmDefaults.MinimumDiskBytes)}");
            }

            if (size % VDiskAdmin.SectorSize != 0)
            {
                return AdminError.Invalid($"a disk size must be a whole number of {VDiskAdmin.SectorSize}-byte sectors; {size} bytes is not");
            }

            var file = NewDiskFile(request, folder, format);
            return file.Ok ? new VmDiskPlan { File = file.Value, Format = format, SizeBytes = size, Preallocate = request.Preallocate, Bus = bus } : file.Error;
        }

        if (request.DiskSizeBytes is not null)
        {
            return AdminError.Invalid("--disk-size is for a new disk; an existing disk keeps its own size (grow it with qemu-img resize)");
        }

        var existing = Path.GetFullPath(request.ExistingDisk);
        if (Directory.Exists(existing))
        {
            return AdminError.Invalid($"--existing-disk {existing} is a folder; give a disk image file or a block device such as /dev/sdb");
        }

        if (!File.Exists(existing))
        {
            return AdminError.NotFound($"--existing-disk {existing} does not exist");
        }

        if (await db.VirtualMachines.AnyAsync(v => v.DiskFile == existing, cancellationToken))
        {
            return AdminError.Conflict($"--existing-disk {existing} is the disk of another VM already; copy it (leave out --attach) or choose another");
        }

        if (BlockDevice.KernelName(existing) is { } device)
        {
            return PlanPhysicalDisk(request, existing, device, bus, notes);
        }

        if (DiskImage.Missing() is { } noQemuImg)
        {
            return AdminError.Failed(noQemuImg);
        }

        var (info, infoError) = await DiskImage.InfoAsync(existing, cancellationToken);
        if (info is null)
        {
            return AdminError.Invalid($"--existing-disk: {infoError}");
        }

        if (!request.AttachDisk)
        {
            if (request.DiskFormat is null && info.Format == "raw")
            {
                format = ImageFormat.Raw;
            }

            var file = NewDiskFile(request, folder, format);
            return file.Ok
                ? new VmDiskPlan { File = file.Value, Format = format, SizeBytes = (info.VirtualSize + 511) & ~511L, Preallocate = request.Preallocate, Bus = bus, CopyOf = existing, CopyOfFormat = info.Format }
                : file.Error;
        }

        if (info.Format is not ("raw" or "qcow2"))
        {
            return AdminError.Invalid($"--existing-disk {existing} is {info.Format}: only raw and qcow2 disks are attached where they are (Streamboot captures and snapshots them); leave out --attach to copy it into qcow2");
        }

        if (request.DiskFile is not null || request.DiskFormat is not null || request.Preallocate)
        {
            return AdminError.Invalid("an attached disk is used as it is: leave out --disk-file, --disk-format and --preallocate");
        }

        return new VmDiskPlan { File = existing, Format = info.Format == "raw" ? ImageFormat.Raw : ImageFormat.Qcow2, SizeBytes = info.VirtualSize, Bus = bus, Attached = true };
    }

    private static AdminResult<VmDiskPlan> PlanPhysicalDisk(VmRequest request, string path, string device, VmDiskBus bus, List<string> notes)
    {
        if (request.DiskFile is not null || request.DiskFormat is not null || request.Preallocate)
        {
            return AdminError.Invalid($"{path} is a physical disk, used whole as it is: leave out --disk-file, --disk-format and --preallocate");
        }

        if (BlockDevice.Mounted(device) is { } mount)
        {
            return AdminError.Refused($"{path} is in use by this host ({mount}); unmount it first: a guest and the host writing one disk destroy its file systems");
        }

        var size = BlockDevice.SizeBytes(device) ?? 0;
        if (size == 0)
        {
            return AdminError.Invalid($"{path} has no medium (size 0); insert one or choose another disk");
        }

        notes.Add($"the VM gets the physical disk {path} ({ByteSize.Format(size)}) whole: the guest can overwrite everything on it, and nothing else may use it while the VM runs");
        return new VmDiskPlan { File = path, Format = ImageFormat.Raw, SizeBytes = size, Bus = bus, Attached = true, Physical = true };
    }

    private static AdminResult<string> NewDiskFile(VmRequest request, string folder, ImageFormat format)
    {
        var file = request.DiskFile is null
            ? Path.Combine(folder, $"{request.Name}.{KebabCase.Of(format)}")
            : Path.GetFullPath(request.DiskFile, folder);
        return File.Exists(file) || Directory.Exists(file)
            ? AdminError.Refused($"the disk file {file} exists; choose another --disk-file, or move it away (vm create never overwrites a disk; --existing-disk {file} uses it)")
            : file;
    }

    /// <summary>Writes a plan's disk: blank, or converted from the image it copies. Nothing for an attached disk.</summary>
    private static async Task MakeDiskAsync(VmDiskPlan disk, CancellationToken cancellationToken)
    {
        if (disk.Attached)
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(disk.File)!);
        if (disk.CopyOf is { } source)
        {
            await ImageImporter.ImportAsync(source, disk.File, disk.Format, cancellationToken: cancellationToken);
            return;
        }

        if (disk.Format == ImageFormat.Qcow2)
        {
            Qcow2Image.Create(disk.File, disk.SizeBytes, preallocate: disk.Preallocate);
        }
        else if (disk.Preallocate)
        {
            // fallocate(2) through .NET: every block reserved, none written.
            using var file = new FileStream(disk.File, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, PreallocationSize = disk.SizeBytes });
            file.SetLength(disk.SizeBytes);
            file.Flush(flushToDisk: true);
        }
        else
        {
            RawImage.CreateSparse(disk.File, disk.SizeBytes);
        }
    }

    private static string DescribeDisk(VmDiskPlan d)
    {
        var what = $"{ByteSize.Format(d.SizeBytes)} {KebabCase.Of(d.Format)} on {KebabCase.Of(d.Bus)}";
        return d switch
        {
            { Physical: true } => $"physical disk {d.File}, {ByteSize.Format(d.SizeBytes)} on {KebabCase.Of(d.Bus)} (the guest may overwrite all of it)",
            { Attached: true } => $"{what}, the existing {d.File} used where it is",
            { CopyOf: { } source } => $"{what}, copied from {source} ({d.CopyOfFormat}): {d.File}",
            _ => $"{what}, {(d.Preallocate ? "preallocated" : "sparse")}: {d.File}",
        };
    }
}

using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// What every command group of a logical unit works on: the block device
/// in whole logical blocks, whether it takes writes, the state its sessions
/// share (the write cache setting, reservations), and the range check and
/// write every group uses.
/// </summary>
internal sealed class LogicalUnitMedium
{
    public LogicalUnitMedium(IBlockDevice device, bool readOnly, UnitState state, int maxTransferLength)
    {
        Device = device;
        State = state;
        ReadOnly = readOnly || device.Capabilities.HasFlag(BlockDeviceCapabilities.ReadOnly);
        Blocks = device.Size >> ScsiProtocol.BlockShift;
        MaxTransferBlocks = maxTransferLength >> ScsiProtocol.BlockShift;
        // Every Streamboot layer reads an unmapped range as zeroes; a read-only view unmaps nothing.
        CanTrim = !ReadOnly;
    }

    public IBlockDevice Device { get; }

    public UnitState State { get; }

    public bool ReadOnly { get; }

    /// <summary>Logical blocks of <see cref="ScsiProtocol.BlockSize"/> bytes (a tail shorter than a block is not served).</summary>
    public long Blocks { get; }

    public int MaxTransferBlocks { get; }

    public bool CanTrim { get; }

    /// <summary>An LBA range check (SBC-3 4.5): the range may end at the last block, never past it.</summary>
    public bool OutOfRange(ulong lba, ulong blocks) => lba > (ulong)Blocks || blocks > (ulong)Blocks - lba;

    /// <summary>A write, forced to the medium by FUA or when the caching mode page has the write cache off.</summary>
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken) =>
        Device.WriteAsync(offset, data, forceUnitAccess || !State.WriteCacheEnabled ? WriteFlags.ForceUnitAccess : WriteFlags.None, cancellationToken);
}

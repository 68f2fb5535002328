using Streamboot.Protocols.Nbd.Connections;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Transmission;

/// <summary>The checks doc/proto.md asks of every request before it touches the device: a pure function of the request and the session.</summary>
internal static class NbdRequestValidator
{
    public static (NbdError Error, string Reason) Validate(NbdSession session, NbdRequest request, int maxPayloadSize)
    {
        var command = request.Command;
        var flags = request.Flags;
        var size = (ulong)session.Device.Size;
        var isWrite = command is NbdCommand.Write or NbdCommand.Trim or NbdCommand.WriteZeroes;
        switch (command)
        {
            case NbdCommand.Read or NbdCommand.Write or NbdCommand.Flush or NbdCommand.Trim
                or NbdCommand.Cache or NbdCommand.WriteZeroes or NbdCommand.BlockStatus:
                break;
            default:
                return (NbdError.Inval, $"unknown command {(ushort)command}");
        }

        const NbdCommandFlags Known = NbdCommandFlags.Fua | NbdCommandFlags.NoHole | NbdCommandFlags.Df
            | NbdCommandFlags.ReqOne | NbdCommandFlags.FastZero;
        if ((flags & ~Known) != 0)
        {
            return (NbdError.Inval, $"unknown flags 0x{(ushort)flags:x}");
        }

        if ((flags & NbdCommandFlags.Df) != 0 && (command != NbdCommand.Read || !session.StructuredReplies))
        {
            return (NbdError.Inval, "NBD_CMD_FLAG_DF is only for NBD_CMD_READ with structured replies");
        }

        if ((flags & NbdCommandFlags.ReqOne) != 0 && command != NbdCommand.BlockStatus)
        {
            return (NbdError.Inval, "NBD_CMD_FLAG_REQ_ONE is only for NBD_CMD_BLOCK_STATUS");
        }

        if ((flags & (NbdCommandFlags.NoHole | NbdCommandFlags.FastZero)) != 0 && command != NbdCommand.WriteZeroes)
        {
            return (NbdError.Inval, "NBD_CMD_FLAG_NO_HOLE and FAST_ZERO are only for NBD_CMD_WRITE_ZEROES");
        }

        if (isWrite && session.ReadOnly)
        {
            return (NbdError.Perm, "the export is read-only");
        }

        if (command == NbdCommand.Flush)
        {
            return (NbdError.None, "");
        }

        if (command is NbdCommand.Read or NbdCommand.Write && request.Length > (uint)maxPayloadSize)
        {
            // EOVERFLOW is the structured-reply era's answer to "too large"; simple-reply clients know EINVAL.
            return (session.StructuredReplies ? NbdError.Overflow : NbdError.Inval, $"length {request.Length} is over the maximum of {maxPayloadSize}");
        }

        if (request.Length == 0 && command is NbdCommand.BlockStatus)
        {
            return (NbdError.Inval, "zero-length NBD_CMD_BLOCK_STATUS");
        }

        if (request.Offset > size || request.Length > size - request.Offset)
        {
            // Writes past the end are ENOSPC ("no room"), everything else EINVAL.
            return (isWrite ? NbdError.NoSpc : NbdError.Inval, $"[{request.Offset}, +{request.Length}) is past the end of the export ({size} bytes)");
        }

        var mask = (ulong)(session.MinimumBlockSize - 1);
        if (((request.Offset | request.Length) & mask) != 0)
        {
            return (NbdError.Inval, $"not aligned to the minimum block size {session.MinimumBlockSize}");
        }

        if ((flags & NbdCommandFlags.FastZero) != 0 && (session.Device.Capabilities & BlockDeviceCapabilities.CanZero) == 0)
        {
            return (NbdError.NotSup, "the device cannot zero faster than writing");
        }

        if (command == NbdCommand.BlockStatus && (!session.StructuredReplies || !session.BaseAllocation))
        {
            return (NbdError.Inval, "NBD_CMD_BLOCK_STATUS needs structured replies and the base:allocation context");
        }

        return (NbdError.None, "");
    }
}

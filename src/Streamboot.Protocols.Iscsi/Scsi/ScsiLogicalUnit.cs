using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// A direct-access logical unit (SBC-3) over one block device: decodes a
/// CDB, checks it, and hands it to its command group. Two steps, so the
/// transport never solicits data for a command that fails anyway:
/// <see cref="Plan"/> (what data-out the command wants, or how it ends at
/// once) and <see cref="ExecuteAsync"/> (the command with its data). WRITEs
/// are the exception: their data goes to <see cref="WriteAsync"/> burst by
/// burst as it arrives. The groups: <see cref="Identification"/> (INQUIRY
/// and its VPD pages, REPORT LUNS, REQUEST SENSE, supported operation
/// codes), <see cref="BlockCommands"/> (capacity, read, write, verify,
/// caches), <see cref="ThinProvisioning"/> (UNMAP, WRITE SAME, GET LBA
/// STATUS), <see cref="ModePages"/>; reservations here and in
/// <see cref="PersistentReservations"/>.
/// </summary>
internal sealed class ScsiLogicalUnit
{
    private readonly LogicalUnitMedium _medium;
    private readonly UnitState _state;
    private readonly Identification _identification;
    private readonly BlockCommands _blocks;
    private readonly ThinProvisioning _provisioning;
    private readonly ModePages _modes;

    public ScsiLogicalUnit(IBlockDevice device, bool readOnly, UnitState state, int maxTransferLength)
    {
        _medium = new LogicalUnitMedium(device, readOnly, state, maxTransferLength);
        _state = state;
        _identification = new Identification(_medium);
        _blocks = new BlockCommands(_medium);
        _provisioning = new ThinProvisioning(_medium);
        _modes = new ModePages(_medium);
    }

    public bool ReadOnly => _medium.ReadOnly;

    public long Blocks => _medium.Blocks;

    public IBlockDevice Device => _medium.Device;

    public string TargetName => _state.TargetName;

    /// <summary>
    /// What a command needs before any data moves, or how it ends at once.
    /// <paramref name="lunExists"/> is false for a LUN other than 0: only
    /// INQUIRY, REPORT LUNS and REQUEST SENSE answer there (SPC-4 5.12).
    /// </summary>
    public ScsiPlan Plan(ReadOnlySpan<byte> cdb, ScsiNexus nexus, bool lunExists)
    {
        var opcode = (ScsiOpcode)cdb[0];
        if (!lunExists && opcode is not (ScsiOpcode.Inquiry or ScsiOpcode.ReportLuns or ScsiOpcode.RequestSense))
        {
            return SenseData.Illegal(AdditionalSense.LogicalUnitNotSupported);
        }

        if (Cdb.Length(opcode) is var length && length > 0 && length <= cdb.Length && (cdb[length - 1] & 0x05) != 0)
        {
            // CONTROL byte: NACA (and the obsolete LINK) are not supported (SAM-5 5.2).
            return SenseData.InvalidFieldInCdb(length - 1, (cdb[length - 1] & 0x04) != 0 ? 2 : 0);
        }

        if (ReservationConflict(opcode, cdb, nexus))
        {
            return ScsiPlan.Finished(ScsiResult.Conflict);
        }

        return opcode switch
        {
            ScsiOpcode.Write6 or ScsiOpcode.Write10 or ScsiOpcode.Write12 or ScsiOpcode.Write16
                or ScsiOpcode.WriteAndVerify10 or ScsiOpcode.WriteAndVerify12 or ScsiOpcode.WriteAndVerify16 => _blocks.PlanWrite(cdb),
            ScsiOpcode.Verify10 or ScsiOpcode.Verify12 or ScsiOpcode.Verify16 => _blocks.PlanVerify(cdb),
            ScsiOpcode.CompareAndWrite => _blocks.PlanCompareAndWrite(cdb),
            ScsiOpcode.WriteSame10 or ScsiOpcode.WriteSame16 => _provisioning.PlanWriteSame(cdb),
            ScsiOpcode.Unmap => _provisioning.PlanUnmap(cdb),
            ScsiOpcode.ModeSelect6 => ScsiPlan.Whole(cdb[4]),
            ScsiOpcode.ModeSelect10 => ScsiPlan.Whole(Cdb.U16(cdb, 7)),
            ScsiOpcode.PersistentReserveOut => ScsiPlan.Whole((int)Math.Min(Cdb.U32(cdb, 5), 4096)),
            _ => ScsiPlan.NoData,
        };
    }

    /// <summary>Carries out a planned command with its whole data-out (empty for none).</summary>
    public async ValueTask<ScsiResult> ExecuteAsync(ReadOnlyMemory<byte> cdb, ReadOnlyMemory<byte> dataOut, ScsiNexus nexus, bool lunExists, CancellationToken cancellationToken)
    {
        var result = await RunAsync(cdb, dataOut, nexus, lunExists, cancellationToken);
        // Parameter data is cut to the CDB's ALLOCATION LENGTH (SPC-4 4.2.5.6): what is left is the SCSI-level transfer.
        return result.Data is not null && AllocationLength(cdb.Span) is int allocation && allocation < result.DataLength
            ? ScsiResult.WithData(result.Data, allocation)
            : result;
    }

    /// <summary>ALLOCATION LENGTH of the commands that return parameter data; null for the rest.</summary>
    private static int? AllocationLength(ReadOnlySpan<byte> cdb) => (ScsiOpcode)cdb[0] switch
    {
        ScsiOpcode.Inquiry => Cdb.U16(cdb, 3),
        ScsiOpcode.RequestSense or ScsiOpcode.ModeSense6 => cdb[4],
        ScsiOpcode.ModeSense10 or ScsiOpcode.PersistentReserveIn => Cdb.U16(cdb, 7),
        ScsiOpcode.ReportLuns or ScsiOpcode.MaintenanceIn => (int)Math.Min(int.MaxValue, Cdb.U32(cdb, 6)),
        ScsiOpcode.ServiceActionIn16 => (int)Math.Min(int.MaxValue, Cdb.U32(cdb, 10)),
        _ => null,
    };

    private async ValueTask<ScsiResult> RunAsync(ReadOnlyMemory<byte> cdbMemory, ReadOnlyMemory<byte> dataOut, ScsiNexus nexus, bool lunExists, CancellationToken cancellationToken)
    {
        var opcode = (ScsiOpcode)cdbMemory.Span[0];
        try
        {
            return opcode switch
            {
                ScsiOpcode.TestUnitReady => ScsiResult.Good,
                ScsiOpcode.Inquiry => _identification.Inquiry(cdbMemory.Span, lunExists),
                ScsiOpcode.RequestSense => Identification.RequestSense(cdbMemory.Span, lunExists),
                ScsiOpcode.ReportLuns => Identification.ReportLuns(cdbMemory.Span),
                ScsiOpcode.ReadCapacity10 => _blocks.ReadCapacity10(cdbMemory.Span),
                ScsiOpcode.ServiceActionIn16 => await ServiceActionInAsync(cdbMemory, cancellationToken),
                ScsiOpcode.MaintenanceIn => Identification.MaintenanceIn(cdbMemory.Span),
                ScsiOpcode.Read6 or ScsiOpcode.Read10 or ScsiOpcode.Read12 or ScsiOpcode.Read16 => _blocks.Read(cdbMemory.Span),
                ScsiOpcode.Verify10 or ScsiOpcode.Verify12 or ScsiOpcode.Verify16 => await _blocks.VerifyAsync(cdbMemory, dataOut, cancellationToken),
                ScsiOpcode.CompareAndWrite => await _blocks.CompareAndWriteAsync(cdbMemory, dataOut, cancellationToken),
                ScsiOpcode.WriteSame10 or ScsiOpcode.WriteSame16 => await _provisioning.WriteSameAsync(cdbMemory, dataOut, cancellationToken),
                ScsiOpcode.Unmap => await _provisioning.UnmapAsync(dataOut, cancellationToken),
                ScsiOpcode.SynchronizeCache10 or ScsiOpcode.SynchronizeCache16 => await _blocks.SynchronizeCacheAsync(cdbMemory, cancellationToken),
                ScsiOpcode.PreFetch10 or ScsiOpcode.PreFetch16 => _blocks.PreFetch(cdbMemory.Span),
                ScsiOpcode.ModeSense6 or ScsiOpcode.ModeSense10 => _modes.ModeSense(cdbMemory.Span),
                ScsiOpcode.ModeSelect6 or ScsiOpcode.ModeSelect10 => _modes.ModeSelect(cdbMemory.Span, dataOut.Span),
                ScsiOpcode.StartStopUnit => StartStopUnit(cdbMemory.Span),
                ScsiOpcode.PreventAllowMediumRemoval => (cdbMemory.Span[4] & 0x03) == 0 ? ScsiResult.Good : SenseData.InvalidFieldInCdb(4, 0),
                ScsiOpcode.Reserve6 or ScsiOpcode.Reserve10 => Reserve(nexus),
                ScsiOpcode.Release6 or ScsiOpcode.Release10 => Release(nexus),
                ScsiOpcode.PersistentReserveIn => PersistentReserveIn(cdbMemory.Span),
                ScsiOpcode.PersistentReserveOut => PersistentReserveOut(cdbMemory.Span, dataOut.Span, nexus),
                ScsiOpcode.SendDiagnostic => (cdbMemory.Span[1] & 0x04) != 0 && Cdb.U16(cdbMemory.Span, 3) == 0 ? ScsiResult.Good : SenseData.InvalidFieldInCdb(1, 2),
                _ => SenseData.Illegal(AdditionalSense.InvalidCommandOperationCode),
            };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return IscsiErrors.SenseOf(e, writing: IsWrite(opcode));
        }
    }

    /// <summary>One burst of a streamed WRITE: <paramref name="data"/> at byte <paramref name="offset"/> of the device.</summary>
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken) =>
        _medium.WriteAsync(offset, data, forceUnitAccess, cancellationToken);

    /// <summary>Reads part of a <see cref="ScsiResult.FromDevice"/> result for the transport to send.</summary>
    public ValueTask ReadAsync(long offset, Memory<byte> into, CancellationToken cancellationToken) =>
        _medium.Device.ReadAsync(offset, into, cancellationToken);

    private async ValueTask<ScsiResult> ServiceActionInAsync(ReadOnlyMemory<byte> cdb, CancellationToken cancellationToken) =>
        (cdb.Span[1] & 0x1f) switch
        {
            ScsiServiceAction.ReadCapacity16 => _blocks.ReadCapacity16(),
            ScsiServiceAction.GetLbaStatus => await _provisioning.GetLbaStatusAsync(cdb, cancellationToken),
            _ => SenseData.InvalidFieldInCdb(1, 4),
        };

    private static bool IsWrite(ScsiOpcode opcode) => Access(opcode) == AccessKind.Write;

    /// <summary>How each command touches the medium (SPC-4 5.9.1: which commands a reservation holds off).</summary>
    private static AccessKind Access(ScsiOpcode opcode) => opcode switch
    {
        ScsiOpcode.Read6 or ScsiOpcode.Read10 or ScsiOpcode.Read12 or ScsiOpcode.Read16
            or ScsiOpcode.Verify10 or ScsiOpcode.Verify12 or ScsiOpcode.Verify16
            or ScsiOpcode.PreFetch10 or ScsiOpcode.PreFetch16 or ScsiOpcode.ModeSense6 or ScsiOpcode.ModeSense10 => AccessKind.Read,
        ScsiOpcode.Write6 or ScsiOpcode.Write10 or ScsiOpcode.Write12 or ScsiOpcode.Write16
            or ScsiOpcode.WriteAndVerify10 or ScsiOpcode.WriteAndVerify12 or ScsiOpcode.WriteAndVerify16
            or ScsiOpcode.WriteSame10 or ScsiOpcode.WriteSame16 or ScsiOpcode.Unmap or ScsiOpcode.CompareAndWrite
            or ScsiOpcode.SynchronizeCache10 or ScsiOpcode.SynchronizeCache16 or ScsiOpcode.ModeSelect6 or ScsiOpcode.ModeSelect10
            or ScsiOpcode.StartStopUnit => AccessKind.Write,
        _ => AccessKind.Always,
    };

    private bool ReservationConflict(ScsiOpcode opcode, ReadOnlySpan<byte> cdb, ScsiNexus nexus)
    {
        lock (_state.Lock)
        {
            var port = nexus.InitiatorPort;
            if (_state.Spc2Holder is { } holder && holder != port)
            {
                // SPC-2 reservations hold off everything but these (SPC-2 5.5.1).
                return opcode is not (ScsiOpcode.Inquiry or ScsiOpcode.RequestSense or ScsiOpcode.ReportLuns
                    or ScsiOpcode.Release6 or ScsiOpcode.Release10 or ScsiOpcode.MaintenanceIn or ScsiOpcode.PersistentReserveIn);
            }

            if (opcode is ScsiOpcode.Reserve6 or ScsiOpcode.Reserve10 && _state.Persistent.HasRegistrations)
            {
                return true;
            }

            var access = Access(opcode);
            if (opcode == ScsiOpcode.ServiceActionIn16 && (cdb[1] & 0x1f) == ScsiServiceAction.GetLbaStatus)
            {
                access = AccessKind.Read;
            }

            return _state.Persistent.Conflicts(port, access);
        }
    }

    private ScsiResult StartStopUnit(ReadOnlySpan<byte> cdb)
    {
        // A disk that never stops and has no medium to load or eject (LOEJ on a non-removable unit is refused).
        if ((cdb[4] & 0x02) != 0)
        {
            return SenseData.InvalidFieldInCdb(4, 1);
        }

        return ScsiResult.Good;
    }

    private ScsiResult Reserve(ScsiNexus nexus)
    {
        lock (_state.Lock)
        {
            if (_state.Spc2Holder is { } holder && holder != nexus.InitiatorPort)
            {
                return ScsiResult.Conflict;
            }

            _state.Spc2Holder = nexus.InitiatorPort;
            return ScsiResult.Good;
        }
    }

    private ScsiResult Release(ScsiNexus nexus)
    {
        lock (_state.Lock)
        {
            if (_state.Spc2Holder == nexus.InitiatorPort)
            {
                _state.Spc2Holder = null;
            }

            return ScsiResult.Good;
        }
    }

    /// <summary>An SPC-2 reservation ends with the session that made it (SPC-2 5.5.1: an I_T nexus loss releases it).</summary>
    public void NexusLost(ScsiNexus nexus)
    {
        lock (_state.Lock)
        {
            if (_state.Spc2Holder == nexus.InitiatorPort)
            {
                _state.Spc2Holder = null;
            }
        }
    }

    private ScsiResult PersistentReserveIn(ReadOnlySpan<byte> cdb)
    {
        lock (_state.Lock)
        {
            return _state.Persistent.In((byte)(cdb[1] & 0x1f));
        }
    }

    private ScsiResult PersistentReserveOut(ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> parameters, ScsiNexus nexus)
    {
        if (Cdb.U32(cdb, 5) != parameters.Length)
        {
            return SenseData.Illegal(AdditionalSense.ParameterListLengthError);
        }

        lock (_state.Lock)
        {
            return _state.Persistent.Out(nexus.InitiatorPort, cdb, parameters);
        }
    }
}

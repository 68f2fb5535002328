using System.Buffers.Binary;
using System.Text;

namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// Persistent reservations (SPC-4 5.9) of one logical unit: a reservation
/// key per registered I_T nexus and at most one reservation. Windows
/// failover clustering registers, reserves and preempts through these. Not
/// kept through a power loss (PTPL_C = 0): a reservation lives while the
/// target's sessions do. Callers hold <see cref="UnitState.Lock"/>.
/// </summary>
internal sealed class PersistentReservations
{
    /// <summary>Registrations one logical unit keeps (an initiator cannot grow the list without bound).</summary>
    public const int MaxRegistrations = 64;

    private readonly Dictionary<string, ulong> _keys = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    /// <summary>PRGENERATION: counts REGISTER, CLEAR and PREEMPT changes (SPC-4 6.15.2).</summary>
    public uint Generation { get; private set; }

    public string? Holder { get; private set; }

    public byte Type { get; private set; }

    public bool HasRegistrations => _keys.Count > 0;

    private bool AllRegistrants => Type is PersistentReserve.WriteExclusiveAllRegistrants or PersistentReserve.ExclusiveAccessAllRegistrants;

    public bool IsHolder(string nexus) => Holder is not null && (AllRegistrants ? _keys.ContainsKey(nexus) : Holder == nexus);

    /// <summary>Whether a command of this kind from <paramref name="nexus"/> conflicts with the reservation (SPC-4 5.9.1, table of conflicts).</summary>
    public bool Conflicts(string nexus, AccessKind access)
    {
        if (Holder is null || access == AccessKind.Always || IsHolder(nexus))
        {
            return false;
        }

        var registered = _keys.ContainsKey(nexus);
        return Type switch
        {
            PersistentReserve.WriteExclusive => access == AccessKind.Write,
            PersistentReserve.ExclusiveAccess => true,
            PersistentReserve.WriteExclusiveRegistrantsOnly or PersistentReserve.WriteExclusiveAllRegistrants => access == AccessKind.Write && !registered,
            PersistentReserve.ExclusiveAccessRegistrantsOnly or PersistentReserve.ExclusiveAccessAllRegistrants => !registered,
            _ => false,
        };
    }

    /// <summary>PERSISTENT RESERVE IN (SPC-4 6.15).</summary>
    public ScsiResult In(byte serviceAction)
    {
        switch (serviceAction)
        {
            case PersistentReserve.ReadKeys:
            {
                var data = new byte[8 + (8 * _order.Count)];
                BinaryPrimitives.WriteUInt32BigEndian(data, Generation);
                BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), (uint)(8 * _order.Count));
                for (var i = 0; i < _order.Count; i++)
                {
                    BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(8 + (8 * i)), _keys[_order[i]]);
                }

                return ScsiResult.WithData(data);
            }

            case PersistentReserve.ReadReservation:
            {
                var data = new byte[Holder is null ? 8 : 24];
                BinaryPrimitives.WriteUInt32BigEndian(data, Generation);
                if (Holder is not null)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), 16);
                    // An all-registrants reservation shows key 0 (SPC-4 6.15.3.3).
                    BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(8), AllRegistrants ? 0 : _keys.GetValueOrDefault(Holder));
                    data[21] = Type; // SCOPE 0 (LU_SCOPE) in the high nibble
                }

                return ScsiResult.WithData(data);
            }

            case PersistentReserve.ReportCapabilities:
            {
                var data = new byte[8];
                data[1] = 8;
                data[2] = 0x10;                // CRH: RESERVE(6)/RELEASE(6) handled as SPC-4 5.9.3 says
                data[3] = 0x80;                // TMV: the type mask is valid; ALLOW COMMANDS 000b
                data[4] = 0xea;                // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
                data[5] = 0x01;                // EX_AC_AR
                return ScsiResult.WithData(data);
            }

            case PersistentReserve.ReadFullStatus:
            {
                var descriptors = new List<byte[]>();
                foreach (var nexus in _order)
                {
                    var transportId = TransportId(nexus);
                    var descriptor = new byte[24 + transportId.Length];
                    BinaryPrimitives.WriteUInt64BigEndian(descriptor, _keys[nexus]);
                    if (IsHolder(nexus))
                    {
                        descriptor[12] = 0x01; // R_HOLDER
                        descriptor[13] = Type;
                    }

                    descriptor[12] |= 0x02;    // ALL_TG_PT: this target has one port
                    BinaryPrimitives.WriteUInt32BigEndian(descriptor.AsSpan(20), (uint)transportId.Length);
                    transportId.CopyTo(descriptor, 24);
                    descriptors.Add(descriptor);
                }

                var length = descriptors.Sum(d => d.Length);
                var data = new byte[8 + length];
                BinaryPrimitives.WriteUInt32BigEndian(data, Generation);
                BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), (uint)length);
                var at = 8;
                foreach (var descriptor in descriptors)
                {
                    descriptor.CopyTo(data, at);
                    at += descriptor.Length;
                }

                return ScsiResult.WithData(data);
            }

            default:
                return SenseData.InvalidFieldInCdb(1, 4);
        }
    }

    /// <summary>PERSISTENT RESERVE OUT (SPC-4 6.16) from <paramref name="nexus"/> with its parameter list.</summary>
    public ScsiResult Out(string nexus, ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> parameters)
    {
        var action = (byte)(cdb[1] & 0x1f);
        var type = (byte)(cdb[2] & 0x0f);
        var scope = cdb[2] >> 4;
        if (action == PersistentReserve.RegisterAndMove)
        {
            return SenseData.InvalidFieldInCdb(1, 4);
        }

        if (action > PersistentReserve.RegisterAndMove)
        {
            return SenseData.InvalidFieldInCdb(1, 4);
        }

        if (parameters.Length != 24)
        {
            return SenseData.Illegal(AdditionalSense.ParameterListLengthError);
        }

        var key = BinaryPrimitives.ReadUInt64BigEndian(parameters);
        var serviceKey = BinaryPrimitives.ReadUInt64BigEndian(parameters[8..]);
        var flags = parameters[20];
        if ((flags & 0x08) != 0 || (flags & 0x04) != 0)
        {
            // SPEC_I_PT and ALL_TG_PT are not supported (REPORT CAPABILITIES says so).
            return SenseData.InvalidFieldInParameterList(20, (flags & 0x08) != 0 ? 3 : 2);
        }

        if ((flags & 0x01) != 0)
        {
            // APTPL: reservations are not kept through a power loss (PTPL_C = 0).
            return SenseData.InvalidFieldInParameterList(20, 0);
        }

        var registered = _keys.TryGetValue(nexus, out var current);
        if (action is PersistentReserve.Register or PersistentReserve.RegisterAndIgnoreExistingKey)
        {
            if (action == PersistentReserve.Register && (registered ? key != current : key != 0))
            {
                return ScsiResult.Conflict;
            }

            if (serviceKey == 0)
            {
                if (registered)
                {
                    Unregister(nexus);
                }
            }
            else if (registered)
            {
                _keys[nexus] = serviceKey;
            }
            else
            {
                if (_keys.Count >= MaxRegistrations)
                {
                    return ScsiResult.Check(SenseKey.IllegalRequest, AdditionalSense.InsufficientRegistrationResources);
                }

                _keys[nexus] = serviceKey;
                _order.Add(nexus);
            }

            Generation++;
            return ScsiResult.Good;
        }

        if (!registered || key != current)
        {
            return ScsiResult.Conflict;
        }

        switch (action)
        {
            case PersistentReserve.Reserve:
                if (scope != 0 || !ValidType(type))
                {
                    return SenseData.InvalidFieldInCdb(2, scope != 0 ? 4 : 0);
                }

                if (Holder is null)
                {
                    Holder = nexus;
                    Type = type;
                    return ScsiResult.Good;
                }

                return IsHolder(nexus) && Type == type ? ScsiResult.Good : ScsiResult.Conflict;

            case PersistentReserve.Release:
                if (Holder is null || !IsHolder(nexus))
                {
                    return ScsiResult.Good;
                }

                if (Type != type || scope != 0)
                {
                    return ScsiResult.Check(SenseKey.IllegalRequest, (AdditionalSense)0x2604); // INVALID RELEASE OF PERSISTENT RESERVATION
                }

                Holder = null;
                Type = 0;
                return ScsiResult.Good;

            case PersistentReserve.Clear:
                _keys.Clear();
                _order.Clear();
                Holder = null;
                Type = 0;
                Generation++;
                return ScsiResult.Good;

            case PersistentReserve.Preempt:
            case PersistentReserve.PreemptAndAbort:
                return Preempt(nexus, serviceKey, type, scope);

            default:
                return SenseData.InvalidFieldInCdb(1, 4);
        }
    }

    /// <summary>Drops a nexus's registration (its session ended is not a reason: keys outlive sessions; only REGISTER with key 0 or a preempt removes one).</summary>
    private void Unregister(string nexus)
    {
        _keys.Remove(nexus);
        _order.Remove(nexus);
        if (Holder is not null && (AllRegistrants ? _keys.Count == 0 : Holder == nexus))
        {
            Holder = null;
            Type = 0;
        }
        else if (Holder == nexus && AllRegistrants)
        {
            Holder = _order[0];
        }
    }

    private ScsiResult Preempt(string nexus, ulong serviceKey, byte type, int scope)
    {
        if (Holder is null || (!AllRegistrants && _keys.GetValueOrDefault(Holder) != serviceKey) || (AllRegistrants && serviceKey != 0))
        {
            // Not the reservation's key: remove the registrations with that key (SPC-4 5.9.11.4.3).
            if (serviceKey == 0)
            {
                return SenseData.InvalidFieldInParameterList(8);
            }

            var victims = _order.Where(n => _keys[n] == serviceKey).ToList();
            if (victims.Count == 0)
            {
                return ScsiResult.Conflict;
            }

            foreach (var victim in victims)
            {
                Unregister(victim);
            }

            Generation++;
            return ScsiResult.Good;
        }

        if (scope != 0 || !ValidType(type))
        {
            return SenseData.InvalidFieldInCdb(2, scope != 0 ? 4 : 0);
        }

        // The reservation's holder (or, all-registrants, everyone else) is preempted.
        var preempted = _order.Where(n => n != nexus && (AllRegistrants || _keys[n] == serviceKey)).ToList();
        foreach (var victim in preempted)
        {
            _keys.Remove(victim);
            _order.Remove(victim);
        }

        Holder = nexus;
        Type = type;
        Generation++;
        return ScsiResult.Good;
    }

    private static bool ValidType(byte type) => type is PersistentReserve.WriteExclusive or PersistentReserve.ExclusiveAccess
        or PersistentReserve.WriteExclusiveRegistrantsOnly or PersistentReserve.ExclusiveAccessRegistrantsOnly
        or PersistentReserve.WriteExclusiveAllRegistrants or PersistentReserve.ExclusiveAccessAllRegistrants;

    /// <summary>An iSCSI TransportID (SPC-4 7.6.4.6, format 01b): the initiator port name, NUL ended, padded to a multiple of 4.</summary>
    private static byte[] TransportId(string initiatorPort)
    {
        var name = Encoding.UTF8.GetBytes(initiatorPort);
        var length = (name.Length + 1 + 3) & ~3;
        var id = new byte[4 + length];
        id[0] = 0x40 | 0x05; // FORMAT CODE 01b, PROTOCOL IDENTIFIER 5 (iSCSI)
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(2), (ushort)length);
        name.CopyTo(id, 4);
        return id;
    }
}

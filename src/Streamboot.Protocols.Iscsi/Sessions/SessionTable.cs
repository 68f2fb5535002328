using Streamboot.Protocols.Iscsi.Scsi;

namespace Streamboot.Protocols.Iscsi.Sessions;

/// <summary>
/// The server's sessions by TSIH (the handle an initiator adds connections
/// to, RFC 7143 4.2.1), and the logical unit state every session of one
/// target shares (reservations, the write cache setting).
/// </summary>
internal sealed class SessionTable
{
    private readonly object _lock = new();
    private readonly Dictionary<ushort, IscsiSession> _sessions = [];
    private readonly Dictionary<string, UnitState> _units = new(StringComparer.OrdinalIgnoreCase);
    private ushort _nextTsih;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>A TSIH no live session has (never 0, which means "a new session").</summary>
    public ushort NewTsih()
    {
        lock (_lock)
        {
            for (var tries = 0; tries < 65536; tries++)
            {
                var tsih = ++_nextTsih;
                if (tsih != 0 && !_sessions.ContainsKey(tsih))
                {
                    return tsih;
                }
            }

            return 0;
        }
    }

    public void Add(IscsiSession session)
    {
        lock (_lock)
        {
            _sessions[session.Tsih] = session;
        }
    }

    public IscsiSession? Find(ushort tsih)
    {
        lock (_lock)
        {
            return _sessions.GetValueOrDefault(tsih);
        }
    }

    /// <summary>The session an initiator port already has with a target (session reinstatement, RFC 7143 6.3.5).</summary>
    public IscsiSession? FindByPort(string initiatorName, string isid, string? targetName)
    {
        lock (_lock)
        {
            return _sessions.Values.FirstOrDefault(s => !s.Discovery
                && string.Equals(s.InitiatorName, initiatorName, StringComparison.OrdinalIgnoreCase)
                && s.Isid == isid
                && string.Equals(s.TargetName, targetName, StringComparison.OrdinalIgnoreCase));
        }
    }

    public void Remove(IscsiSession session)
    {
        lock (_lock)
        {
            if (_sessions.TryGetValue(session.Tsih, out var found) && found == session)
            {
                _sessions.Remove(session.Tsih);
            }
        }
    }

    public List<IscsiSession> All()
    {
        lock (_lock)
        {
            return [.. _sessions.Values];
        }
    }

    /// <summary>The shared state of a target's logical unit, held until <see cref="ReleaseUnit"/> for each acquire.</summary>
    public UnitState AcquireUnit(string targetName)
    {
        lock (_lock)
        {
            if (!_units.TryGetValue(targetName, out var unit))
            {
                unit = new UnitState(targetName);
                _units[targetName] = unit;
            }

            unit.References++;
            return unit;
        }
    }

    public void ReleaseUnit(UnitState unit)
    {
        lock (_lock)
        {
            if (--unit.References == 0)
            {
                _units.Remove(unit.TargetName);
            }
        }
    }
}

using Streamboot.Protocols.Iscsi.Connections;
using Streamboot.Protocols.Iscsi.Login;
using Streamboot.Protocols.Iscsi.Scsi;
using Streamboot.Protocols.Iscsi.Targets;

namespace Streamboot.Protocols.Iscsi.Sessions;

/// <summary>
/// One iSCSI session (RFC 7143 4.2): its connections, its CmdSN window and
/// the order commands from every connection are delivered in, its tasks by
/// Initiator Task Tag, and the logical unit it serves. The window is what
/// bounds a session's queued work: MaxCmdSN advances only as commands
/// complete, so at most <see cref="IscsiServerOptions.CommandWindow"/> are
/// in flight.
/// </summary>
internal sealed class IscsiSession
{
    private readonly object _lock = new();
    private readonly IscsiServerOptions _options;
    private readonly Dictionary<uint, ISequenced> _waiting = [];
    private readonly Dictionary<uint, IscsiTask> _tasks = [];
    private readonly List<IscsiConnection> _connections = [];
    private uint _expCmdSN;
    private uint _maxCmdSN;
    private int _inFlight;
    private int _immediate;
    private long _window;
    private bool _ended;

    public IscsiSession(ushort tsih, string isid, string initiatorName, string? targetName, bool discovery, NegotiatedParameters parameters, IscsiServerOptions options, uint firstCmdSN)
    {
        Tsih = tsih;
        Isid = isid;
        InitiatorName = initiatorName;
        TargetName = targetName;
        Discovery = discovery;
        Parameters = parameters;
        _options = options;
        _expCmdSN = firstCmdSN;
        _maxCmdSN = firstCmdSN - 1;
        Nexus = new ScsiNexus(initiatorName, isid);
        UpdateWindow();
    }

    public ushort Tsih { get; }

    public string Isid { get; }

    public string InitiatorName { get; }

    public string? TargetName { get; }

    public bool Discovery { get; }

    /// <summary>Session-wide operational parameters, settled by the leading login.</summary>
    public NegotiatedParameters Parameters { get; }

    public ScsiNexus Nexus { get; }

    public ScsiLogicalUnit? Unit { get; set; }

    /// <summary>The logical unit state this session holds a reference to (released when it ends).</summary>
    public UnitState? UnitState { get; set; }

    /// <summary>What CHAP granted at the leading login; every later connection must prove the same.</summary>
    public IscsiGrant? Grant { get; set; }

    public bool Ended
    {
        get
        {
            lock (_lock)
            {
                return _ended;
            }
        }
    }

    /// <summary>ExpCmdSN and MaxCmdSN as every target PDU carries them; read without a lock.</summary>
    public (uint ExpCmdSN, uint MaxCmdSN) Window
    {
        get
        {
            var packed = Volatile.Read(ref _window);
            return ((uint)(packed >> 32), (uint)packed);
        }
    }

    public int ConnectionCount
    {
        get
        {
            lock (_lock)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Adds a connection (its login joined or made the session); false when the session is full or over.</summary>
    public bool TryAdd(IscsiConnection connection, out IscsiConnection? replaced)
    {
        replaced = null;
        lock (_lock)
        {
            if (_ended)
            {
                return false;
            }

            // A login with the CID of a live connection reinstates it (RFC 7143 6.3.4): the old one goes.
            replaced = _connections.Find(c => c.Cid == connection.Cid);
            if (replaced is not null)
            {
                _connections.Remove(replaced);
            }

            if (_connections.Count >= Parameters.MaxConnections)
            {
                if (replaced is not null)
                {
                    _connections.Add(replaced);
                    replaced = null;
                }

                return false;
            }

            _connections.Add(connection);
            return true;
        }
    }

    /// <summary>Removes a connection; true when it was the last, and the session is over.</summary>
    public bool Remove(IscsiConnection connection)
    {
        lock (_lock)
        {
            _connections.Remove(connection);
            if (_connections.Count > 0 || _ended)
            {
                return false;
            }

            _ended = true;
            return true;
        }
    }

    public IReadOnlyList<IscsiConnection> Connections
    {
        get
        {
            lock (_lock)
            {
                return [.. _connections];
            }
        }
    }

    /// <summary>Marks the session over (logout of the session, reinstatement, server stop); its connections close.</summary>
    public bool End()
    {
        lock (_lock)
        {
            if (_ended)
            {
                return false;
            }

            _ended = true;
            return true;
        }
    }

    /// <summary>
    /// Takes a PDU with a CmdSN: an immediate one at once, a non-immediate
    /// one in CmdSN order across the session's connections. A task is
    /// registered under its ITT as soon as it is taken (its unsolicited
    /// data may follow before it is delivered). Returns what to deliver now,
    /// in order, in <paramref name="deliver"/>.
    /// </summary>
    public Admission Admit(ISequenced work, uint cmdSN, bool immediate, List<ISequenced> deliver)
    {
        var task = work as IscsiTask;
        lock (_lock)
        {
            if (immediate)
            {
                if (task is not null)
                {
                    if (_immediate >= _options.MaxImmediateCommands || !_tasks.TryAdd(task.Itt, task))
                    {
                        return Admission.TooManyImmediate;
                    }

                    _immediate++;
                }

                deliver.Add(work);
                return Admission.Delivered;
            }

            var distance = (int)(cmdSN - _expCmdSN);
            if (distance < 0 || (int)(cmdSN - _maxCmdSN) > 0 || _waiting.ContainsKey(cmdSN))
            {
                return Admission.Ignored;
            }

            if (task is not null)
            {
                if (!_tasks.TryAdd(task.Itt, task))
                {
                    return Admission.Ignored;
                }

                task.Counted = true;
                _inFlight++;
            }

            if (distance > 0)
            {
                _waiting[cmdSN] = work;
                UpdateWindow();
                return Admission.Queued;
            }

            deliver.Add(work);
            _expCmdSN++;
            while (_waiting.Remove(_expCmdSN, out var next))
            {
                deliver.Add(next);
                _expCmdSN++;
            }

            UpdateWindow();
            return Admission.Delivered;
        }
    }

    /// <summary>Whether an Initiator Task Tag names a task in flight.</summary>
    public bool HasTask(uint itt)
    {
        lock (_lock)
        {
            return _tasks.ContainsKey(itt);
        }
    }

    public IscsiTask? FindTask(uint itt)
    {
        lock (_lock)
        {
            return _tasks.GetValueOrDefault(itt);
        }
    }

    public List<IscsiTask> Tasks()
    {
        lock (_lock)
        {
            return [.. _tasks.Values];
        }
    }

    /// <summary>A task is answered (or aborted): its ITT is free and, if it counted, the window opens by one.</summary>
    public void Complete(IscsiTask task)
    {
        lock (_lock)
        {
            if (!_tasks.Remove(task.Itt, out var found) || found != task)
            {
                if (found is not null)
                {
                    _tasks[task.Itt] = found;
                }

                return;
            }

            if (task.Counted)
            {
                _inFlight--;
            }
            else
            {
                _immediate--;
            }

            // An aborted task that never got its turn leaves its CmdSN to be skipped.
            if (!task.Delivered && task.Counted)
            {
                foreach (var (sn, work) in _waiting)
                {
                    if (work == task)
                    {
                        _waiting[sn] = new Skipped();
                        break;
                    }
                }
            }

            UpdateWindow();
        }
    }

    private void UpdateWindow()
    {
        // MaxCmdSN never goes back (RFC 7143 4.2.2.1): it moves on as commands complete.
        var max = _expCmdSN + (uint)Math.Max(0, _options.CommandWindow - _inFlight) - 1;
        if ((int)(max - _maxCmdSN) > 0)
        {
            _maxCmdSN = max;
        }

        Volatile.Write(ref _window, ((long)_expCmdSN << 32) | _maxCmdSN);
    }

    private sealed class Skipped : ISequenced
    {
        public void Deliver()
        {
        }
    }
}

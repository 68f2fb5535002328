using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Peers;

/// <summary>
/// ISC dhclient (Debian's isc-dhcp-client) in the test's namespace, with its
/// own config, lease, pid and hook files in the test's folder: never the
/// system's, so /etc/resolv.conf and /var/lib/dhcp are left alone.
/// </summary>
public sealed class Dhclient : IAsyncDisposable
{
    private readonly DhcpBench _bench;
    private readonly string _config;
    private readonly string _leases;
    private readonly string _pid;
    private readonly string _script;

    public Dhclient(DhcpBench bench, string config = "")
    {
        _bench = bench;
        var name = $"dhclient-{Guid.NewGuid():N}";
        _config = bench.Folder.Combine(name + ".conf");
        _leases = bench.Folder.Combine(name + ".leases");
        _pid = bench.Folder.Combine(name + ".pid");
        Output = bench.Folder.Combine(name + ".out");
        File.WriteAllText(_config, config);
        _script = ScriptEvents.WriteScript(bench.Folder.Combine(name + ".sh"), Output, """
            case "$reason" in
              BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
              EXPIRE|RELEASE|STOP) [ -n "$old_ip_address" ] && ip addr del "$old_ip_address/$old_subnet_mask" dev "$interface" ;;
            esac
            """);
    }

    /// <summary>x64 UEFI firmware as a dhclient config: option 60 and option 93 = 7.</summary>
    public const string EfiX64Config = """
        option pxe-arch code 93 = unsigned integer 16;
        send vendor-class-identifier "PXEClient:Arch:00007:UNDI:003016";
        send pxe-arch 7;
        """;

    public string Output { get; }

    public ScriptEvents Events => ScriptEvents.Read(Output);

    /// <summary>Gets a lease (-1: one try) and leaves dhclient running in the background, as it does.</summary>
    public async Task<IReadOnlyDictionary<string, string>> LeaseAsync()
    {
        var result = await _bench.Link.RunAsync(Tools.Dhclient, [.. Files, "-1", "-v", _bench.Link.ClientInterface], TimeSpan.FromSeconds(60));
        var events = Events;
        Assert.True(result.ExitCode == 0, $"dhclient failed: {result}\n{events}\n--- server\n{_bench.Log}");
        var bound = events.Last("BOUND", "REBOOT");
        Assert.True(bound is not null, $"{events}\n{result}");

        // The parent exits once the daemon is forked; the daemon writes the pid file a moment later.
        for (var i = 0; i < 100 && RunningPid() is null; i++)
        {
            await Task.Delay(50);
        }

        return bound;
    }

    /// <summary>dhclient -r: sends DHCPRELEASE and stops the running dhclient.</summary>
    public async Task ReleaseAsync()
    {
        var result = await _bench.Link.RunAsync(Tools.Dhclient, [.. Files, "-r", "-v", _bench.Link.ClientInterface], TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private string[] Files => ["-cf", _config, "-lf", _leases, "-pf", _pid, "-sf", _script];

    /// <summary>Stops the dhclient this object started (dhclient -x: no release), by its own pid file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (RunningPid() is not { } pid)
        {
            return;
        }

        await _bench.Link.RunAsync(Tools.Dhclient, [.. Files, "-x", _bench.Link.ClientInterface], TimeSpan.FromSeconds(30));
        for (var i = 0; i < 40 && RunningPid() == pid; i++)
        {
            await Task.Delay(50);
        }

        if (RunningPid() == pid)
        {
            throw new InvalidOperationException($"dhclient {pid} did not stop");
        }
    }

    /// <summary>The pid in our pid file while that process is a dhclient using it (not a zombie, not a reused pid).</summary>
    private int? RunningPid()
    {
        try
        {
            if (!int.TryParse(File.ReadAllText(_pid).Trim(), out var pid))
            {
                return null;
            }

            var status = File.ReadAllText($"/proc/{pid}/status");
            var commandLine = File.ReadAllText($"/proc/{pid}/cmdline");
            return commandLine.Contains(_pid, StringComparison.Ordinal) && !status.Contains("State:\tZ", StringComparison.Ordinal) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

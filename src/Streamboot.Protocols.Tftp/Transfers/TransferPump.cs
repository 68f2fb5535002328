using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Streamboot.Protocols.Tftp.Transfers;

/// <summary>
/// An event loop on one thread for many transfers: epoll (level-triggered)
/// says which transfer socket is ready and the transfer's continuation runs
/// right here, so an ACK is answered by the thread the kernel woke, with one
/// epoll_wait, one recvfrom and one sendto per lock-step block. The thread pool's socket
/// completions cost a second thread wake-up per ACK, which halved lock-step
/// throughput on loopback (bench/Streamboot.Tftp.Bench/README.md). A server
/// has a few pumps, never a thread per transfer; deadlines are checked every
/// <see cref="ScanInterval"/>.
/// </summary>
internal sealed class TransferPump : IDisposable
{
    private static readonly long s_scanTicks = Stopwatch.Frequency / 100;
    private readonly ConcurrentDictionary<long, UdpChannel> _channels = new();
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private volatile bool _stopping;
    private int _count;

    public TransferPump(string name, ILogger logger)
    {
        _logger = logger;
        Epoll = LinuxUdp.CreateEpoll();
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.UnsafeStart();
    }

    /// <summary>How often waiting transfers' deadlines are checked: timeouts fire up to this late.</summary>
    public static TimeSpan ScanInterval => TimeSpan.FromMilliseconds(10);

    public int Epoll { get; }

    public bool IsStopping => _stopping;

    public int Count => Volatile.Read(ref _count);

    public void Add(UdpChannel channel)
    {
        _channels[channel.Id] = channel;
        Interlocked.Increment(ref _count);
        var error = LinuxUdp.Control(Epoll, LinuxUdp.EpollCtlAdd, channel.Descriptor, LinuxUdp.EpollIn, channel.Id);
        if (error == 0)
        {
            error = LinuxUdp.Control(Epoll, LinuxUdp.EpollCtlAdd, channel.StrangerDescriptor, LinuxUdp.EpollIn, channel.Id | UdpChannel.StrangerBit);
        }

        if (error != 0)
        {
            Remove(channel);
            throw new System.Net.Sockets.SocketException(error);
        }
    }

    public void Remove(UdpChannel channel)
    {
        if (_channels.TryRemove(channel.Id, out _))
        {
            Interlocked.Decrement(ref _count);
            _ = LinuxUdp.Control(Epoll, LinuxUdp.EpollCtlDel, channel.Descriptor, 0, channel.Id);
            _ = LinuxUdp.Control(Epoll, LinuxUdp.EpollCtlDel, channel.StrangerDescriptor, 0, channel.Id);
        }
    }

    /// <summary>Ends every wait with <see cref="PumpSignal.Stopped"/> and the thread with it.</summary>
    public void Stop()
    {
        _stopping = true;
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    public void Dispose()
    {
        Stop();
        LinuxUdp.Close(Epoll);
    }

    private void Run()
    {
        var events = new byte[LinuxUdp.EventSize * 256];
        var nextScan = 0L;
        while (!_stopping)
        {
            try
            {
                var ready = LinuxUdp.Wait(Epoll, events, Count == 0 ? 100 : 10);
                for (var i = 0; i < ready; i++)
                {
                    var data = LinuxUdp.EventData(events, i);
                    if (_channels.TryGetValue(data & ~UdpChannel.StrangerBit, out var channel))
                    {
                        if ((data & UdpChannel.StrangerBit) != 0)
                        {
                            channel.OnStrangerEvent();
                        }
                        else
                        {
                            // Runs the transfer's continuation on this thread.
                            channel.OnEvent();
                        }
                    }
                }

                var now = Stopwatch.GetTimestamp();
                if (now >= nextScan)
                {
                    nextScan = now + s_scanTicks;
                    foreach (var channel in _channels.Values)
                    {
                        if (channel.IsWaiting && now >= channel.Deadline)
                        {
                            channel.Signal(PumpSignal.TimedOut);
                        }
                    }
                }
            }
            catch (Exception e)
            {
                // Continuations catch their own failures; this is a last guard so the loop never dies.
                TftpLog.PumpFailed(_logger, e);
            }
        }

        foreach (var channel in _channels.Values)
        {
            channel.Signal(PumpSignal.Stopped);
        }
    }
}

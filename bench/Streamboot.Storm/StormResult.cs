namespace Streamboot.Storm;

/// <summary>
/// One storm's figures: N clients against one server. Bytes are what the
/// clients received and sent (HTTP bodies, NBD read and write payloads);
/// latencies in milliseconds; server figures from <see cref="ProcessSampler"/>.
/// </summary>
internal sealed record StormResult(
    string Server,
    int Clients,
    int Ok,
    int Errors,
    int Retries,
    double Seconds,
    long Bytes,
    double[] HttpMs,
    double[] ScriptMs,
    double[] NbdMs,
    double[] WriteMs,
    double[] FlushMs,
    double[][] Phases,
    double[] BootSeconds,
    long BaselineRss,
    long PeakRss,
    int PeakThreads,
    int PeakProcesses,
    double CpuSeconds,
    long StorageReadBytes,
    IReadOnlyList<string> FirstErrors)
{
    public double MBps => Bytes / 1e6 / Seconds;

    public double HttpP(double p) => Latencies.Percentile(HttpMs, p);

    public double ScriptP(double p) => Latencies.Percentile(ScriptMs, p);

    public double WriteP(double p) => Latencies.Percentile(WriteMs, p);

    public double FlushP(double p) => Latencies.Percentile(FlushMs, p);

    /// <summary>Percentile <paramref name="p"/> of phase <paramref name="phase"/> (0 script, 1 boot files, 2 NBD open, 3 NBD replay) over the clients, seconds.</summary>
    public double PhaseP(int phase, double p) => Latencies.Percentile(Phases[phase], p);

    public double NbdP(double p) => Latencies.Percentile(NbdMs, p);

    public double BootP(double p) => Latencies.Percentile(BootSeconds, p);

    /// <summary>Peak RSS above the idle server's, per client.</summary>
    public double RssPerClientKiB => (PeakRss - BaselineRss) / 1024.0 / Clients;
}

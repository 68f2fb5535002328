namespace Streamboot.Storage.Tests.Support;

/// <summary>Progress&lt;T&gt; posts to the thread pool; tests want the reports in order, now.</summary>
public sealed class SyncProgress(List<long> reports) : IProgress<long>
{
    public void Report(long value)
    {
        lock (reports)
        {
            reports.Add(value);
        }
    }
}

namespace Streamboot.Admin;

/// <summary>
/// Passes progress on at once, on the reporting thread. (Progress&lt;T&gt;
/// posts to the thread pool, so its last report can arrive after the
/// operation has returned and the bar has been drawn complete.)
/// </summary>
internal sealed class ProgressRelay<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

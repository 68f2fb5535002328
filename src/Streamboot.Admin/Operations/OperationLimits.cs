namespace Streamboot.Admin.Operations;

/// <summary>
/// How much of the server long operations may take: <see cref="MaxRunning"/>
/// at once (each reads and writes a whole disk; more would only share the
/// same disks' bandwidth), <see cref="MaxKept"/> remembered, finished ones
/// for <see cref="KeepFor"/>.
/// </summary>
public sealed record OperationLimits(int MaxRunning, int MaxKept, TimeSpan KeepFor)
{
    public static OperationLimits Default { get; } = new(2, 100, TimeSpan.FromHours(1));
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Streamboot.Admin;

namespace Streamboot.WebConsole;

/// <summary>
/// Merges started from the console, one per vDisk at a time. A merge copies
/// the whole chain into a new base and takes as long as the disk is big, so
/// it runs beside the request that started it (until the server stops), and
/// the vDisk's page polls its progress (<see cref="VersionAdmin.MergeAsync"/>
/// reports bytes done of bytes to do).
/// </summary>
public sealed class MergeJobs(IHostApplicationLifetime lifetime)
{
    private readonly ConcurrentDictionary<string, MergeJob> _jobs = new(StringComparer.Ordinal);

    public MergeJob? Of(string vdisk) => _jobs.TryGetValue(vdisk, out var job) ? job : null;

    /// <summary>Starts a merge of <paramref name="vdisk"/> as the site's actor, unless one is running.</summary>
    public bool TryStart(AdminSite site, string vdisk)
    {
        var job = new MergeJob();
        if (_jobs.TryGetValue(vdisk, out var running) && !running.Finished)
        {
            return false;
        }

        _jobs[vdisk] = job;
        _ = Task.Run(async () =>
        {
            try
            {
                var result = await new VersionAdmin(site).MergeAsync(vdisk, job, lifetime.ApplicationStopping);
                job.Finish(result.Ok ? null : result.Error.Message, result.Ok ? $"Merged into version {result.Value.Versions.Max(v => v.Number)}." : null);
            }
            catch (OperationCanceledException)
            {
                job.Finish("the server stopped during the merge; the chain is as it was", null);
            }
            catch (Exception e)
            {
                // Nobody awaits this task: what went wrong is shown on the vDisk's page instead of lost.
                job.Finish($"the merge failed: {e.Message}", null);
            }
        });
        return true;
    }
}

/// <summary>One merge's progress (reported in order, on the merging thread) and outcome.</summary>
public sealed class MergeJob : IProgress<(long Done, long Total)>
{
    private long _done;
    private long _total;

    public long Done => Interlocked.Read(ref _done);

    public long Total => Interlocked.Read(ref _total);

    public bool Finished { get; private set; }

    public string? Error { get; private set; }

    public string? Outcome { get; private set; }

    public void Report((long Done, long Total) value)
    {
        Interlocked.Exchange(ref _total, value.Total);
        Interlocked.Exchange(ref _done, value.Done);
    }

    public void Finish(string? error, string? outcome)
    {
        Error = error;
        Outcome = outcome;
        Finished = true;
    }
}

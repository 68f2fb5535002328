using Spectre.Console;

namespace Streamboot.Cli.Output;

/// <summary>
/// A progress bar for long operations (import, merge): bytes, rate and time
/// left, drawn on stderr so stdout stays clean for --json. Without a
/// terminal it draws nothing.
/// </summary>
public static class ProgressBar
{
    public static async Task<T> RunAsync<T>(string description, bool enabled, Func<IProgress<(long Done, long Total)>?, Task<T>> work)
    {
        if (!enabled || Console.IsErrorRedirected)
        {
            return await work(null);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        await console.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(description, maxValue: 1);
                var progress = new Progress<(long Done, long Total)>(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                });
                result = await work(progress);
                task.Value = task.MaxValue;
            });
        return result;
    }
}

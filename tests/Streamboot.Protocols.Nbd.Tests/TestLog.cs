using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>Every log line the server writes, kept in memory with its event id, for tests that check what was logged (and what never is).</summary>
public sealed class TestLog : ILoggerFactory
{
    public ConcurrentQueue<(int EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public IEnumerable<string> Messages(int eventId) => Entries.Where(e => e.EventId == eventId).Select(e => e.Message);

    public string All => string.Join('\n', Entries.Select(e => $"[{e.EventId}] {e.Message}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(TestLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            log.Entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));
    }
}

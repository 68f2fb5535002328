using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Streamboot.Protocols.Tftp.Tests;

/// <summary>Keeps every log line the server writes, so a test can check what was logged.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public bool Has(int eventId, string? containing = null) =>
        Lines.Any(l => l.EventId == eventId && (containing is null || l.Message.Contains(containing, StringComparison.Ordinal)));

    public override string ToString() => string.Join('\n', Lines.Select(l => $"{l.Level} {l.EventId} {l.Message}"));

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue((logLevel, eventId.Id, formatter(state, exception) + (exception is null ? "" : $" | {exception.GetType().Name}: {exception.Message}")));
    }
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>Keeps every log line (all levels) so tests can check that a drop was logged with its reason.</summary>
public sealed class LogCapture : ILoggerFactory, ILoggerProvider
{
    private readonly ConcurrentQueue<(int EventId, LogLevel Level, string Message)> _lines = new();

    public IReadOnlyList<(int EventId, LogLevel Level, string Message)> Lines => [.. _lines];

    public bool Contains(int eventId, string text) => _lines.Any(l => l.EventId == eventId && l.Message.Contains(text, StringComparison.Ordinal));

    public override string ToString() => string.Join('\n', _lines.Select(l => $"{l.EventId} {l.Level}: {l.Message}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue((eventId.Id, logLevel, formatter(state, exception) + (exception is null ? "" : $" [{exception.GetType().Name}: {exception.Message}]")));
    }
}

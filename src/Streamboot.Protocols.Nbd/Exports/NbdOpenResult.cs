namespace Streamboot.Protocols.Nbd.Exports;

/// <summary>An opened export, or why there is none (an expected failure is a value, not an exception).</summary>
public readonly struct NbdOpenResult
{
    private NbdOpenResult(NbdExport? export, NbdOpenError error, string? message)
    {
        Export = export;
        Error = error;
        Message = message;
    }

    public NbdExport? Export { get; }

    public NbdOpenError Error { get; }

    /// <summary>Sent to the client with the error reply (human-readable, optional).</summary>
    public string? Message { get; }

    public static NbdOpenResult Opened(NbdExport export) => new(export ?? throw new ArgumentNullException(nameof(export)), default, null);

    public static NbdOpenResult Failed(NbdOpenError error, string? message = null) => new(null, error, message);

    public static implicit operator NbdOpenResult(NbdExport export) => Opened(export);
}

namespace Streamboot.Cli;

/// <summary>Exit codes, as scripts expect them from Unix tools.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>It was tried and did not work: not found, conflict, refused, I/O failure.</summary>
    public const int Failure = 1;

    /// <summary>The command line itself is wrong: bad syntax, a bad MAC, size or name.</summary>
    public const int Usage = 2;
}

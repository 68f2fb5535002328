namespace Streamboot.Cli.Output;

/// <summary>How a column fits a terminal narrower than the table.</summary>
public enum ColumnFit
{
    /// <summary>Its cells wrap over lines.</summary>
    Wrap,

    /// <summary>Never split (a MAC, a name someone copies): other columns give way.</summary>
    Whole,

    /// <summary>Left out, rightmost first, while the table is wider than the terminal (--json keeps it).</summary>
    Optional,
}

namespace Streamboot.Cli.Output;

/// <summary>A table column and what it may give up when the terminal is narrow.</summary>
public sealed record Column(string Header, ColumnFit Fit = ColumnFit.Wrap)
{
    public static implicit operator Column(string header) => new(header);
}

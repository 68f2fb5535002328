using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;
using Streamboot.Admin;
using Streamboot.Api.Contracts;

namespace Streamboot.Cli.Output;

/// <summary>
/// Everything the command line prints: tables and key/value grids for people,
/// JSON for scripts (<c>--json</c>), and one-line errors on stderr.
/// </summary>
public sealed class CliOutput(bool json)
{
    /// <summary>The admin API's JSON, indented: <c>--json</c> prints what the API answers, here or through <c>--server</c>.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(ApiJson.Options) { WriteIndented = true };

    private static readonly IAnsiConsole s_stdout = CreateStdout();

    public bool Json { get; } = json;

    public static IAnsiConsole Stdout => s_stdout;

    /// <summary>Prints a list: a table, or a JSON array.</summary>
    public int List<T>(IReadOnlyList<T> items, Column[] columns, Func<T, IEnumerable<string>> row, string empty)
    {
        if (Json)
        {
            System.Console.Out.WriteLine(JsonSerializer.Serialize(items, JsonOptions));
            return ExitCodes.Ok;
        }

        if (items.Count == 0)
        {
            System.Console.Out.WriteLine(empty);
            return ExitCodes.Ok;
        }

        var rows = items.Select(i => row(i).ToArray()).ToList();
        var shown = FitColumns(columns, rows, s_stdout.Profile.Width);
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var i in shown)
        {
            var column = new TableColumn(columns[i].Header);
            table.AddColumn(columns[i].Fit == ColumnFit.Whole ? column.NoWrap() : column);
        }

        foreach (var cells in rows)
        {
            table.AddRow([.. shown.Select(i => (IRenderable)new Text(cells[i]))]);
        }

        s_stdout.Write(table);
        if (shown.Count < columns.Length)
        {
            var left = columns.Where((_, i) => !shown.Contains(i)).Select(c => c.Header);
            s_stdout.Write(new Text($"({string.Join(", ", left)} left out to fit {s_stdout.Profile.Width} columns; --json has everything)\n"));
        }

        return ExitCodes.Ok;
    }

    /// <summary>
    /// The columns to show: all of them when the table fits the terminal as
    /// it is; else without optional ones, rightmost first, until it does (or
    /// none is left to drop: the rest wrap).
    /// </summary>
    private static List<int> FitColumns(Column[] columns, List<string[]> rows, int width)
    {
        var natural = columns.Select((c, i) => Math.Max(c.Header.Length, rows.Max(r => r[i].Split('\n').Max(line => line.Length)))).ToArray();
        var shown = Enumerable.Range(0, columns.Length).ToList();
        // A rounded table spends one border column per cell plus one, and one space each side of a cell.
        int Width() => shown.Sum(i => natural[i] + 3) + 1;
        for (var i = columns.Length - 1; i >= 0 && Width() > width; i--)
        {
            if (columns[i].Fit == ColumnFit.Optional)
            {
                shown.Remove(i);
            }
        }

        return shown;
    }

    /// <summary>Prints one object: a two-column grid, or a JSON object.</summary>
    public int Item<T>(T item, IEnumerable<(string Key, string Value)> fields, string? heading = null)
    {
        if (Json)
        {
            System.Console.Out.WriteLine(JsonSerializer.Serialize(item, JsonOptions));
            return ExitCodes.Ok;
        }

        if (heading is not null)
        {
            s_stdout.MarkupLine(heading);
        }

        var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        foreach (var (key, value) in fields)
        {
            grid.AddRow(new Text(key, new Style(decoration: Decoration.Bold)), new Text(value));
        }

        s_stdout.Write(grid);
        return ExitCodes.Ok;
    }

    /// <summary>Prints the result of an admin operation, or its error, and returns the exit code.</summary>
    public int Result<T>(AdminResult<T> result, Func<T, int> print) =>
        result.Ok ? print(result.Value) : Error(result.Error);

    public static int Error(AdminError error)
    {
        Fail(error.Message);
        return error.Kind == AdminErrorKind.Invalid ? ExitCodes.Usage : ExitCodes.Failure;
    }

    public static int Usage(string message)
    {
        Fail(message);
        return ExitCodes.Usage;
    }

    public static void Fail(string message) => System.Console.Error.WriteLine($"streamboot: {message}");

    private static IAnsiConsole CreateStdout()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Out) });
        if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var columns) && columns >= 20)
        {
            // The shell's own word for the terminal's width (and a script's way to ask for one).
            console.Profile.Width = columns;
        }
        else if (System.Console.IsOutputRedirected)
        {
            // Piped into grep or a file: no terminal width to respect, so do
            // not wrap rows into several lines.
            console.Profile.Width = 240;
        }

        return console;
    }

    public static string Time(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static string YesNo(bool value) => value ? "yes" : "no";
}

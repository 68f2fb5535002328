using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Streamboot.Admin;

namespace Streamboot.Cli.Output;

/// <summary>
/// Everything the command line prints: tables and key/value grids for people,
/// JSON for scripts (<c>--json</c>), and one-line errors on stderr.
/// </summary>
public sealed class CliOutput(bool json)
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    private static readonly IAnsiConsole s_stdout = CreateStdout();

    public bool Json { get; } = json;

    public static IAnsiConsole Stdout => s_stdout;

    /// <summary>Prints a list: a table, or a JSON array.</summary>
    public int List<T>(IReadOnlyList<T> items, string[] columns, Func<T, IEnumerable<string>> row, string empty)
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

        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(column));
        }

        foreach (var item in items)
        {
            table.AddRow([.. row(item).Select(cell => (IRenderable)new Text(cell))]);
        }

        s_stdout.Write(table);
        return ExitCodes.Ok;
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
        if (System.Console.IsOutputRedirected)
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

using System.Globalization;
using Streamboot.Data;

namespace Streamboot.WebConsole;

/// <summary>How the console writes values: as the command line prints them (kebab-case names, sizes in binary units, UTC times).</summary>
public static class ConsoleText
{
    public static string Name<T>(T value)
        where T : struct, Enum => KebabCase.Of(value);

    public static string Bytes(long bytes) => ByteSize.Format(bytes);

    public static string Time(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>A duration as people read it: 42 s, 3 min 5 s, 2 h 10 min, 4 d 3 h.</summary>
    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }

        return span.TotalMinutes < 1 ? $"{(int)span.TotalSeconds} s"
            : span.TotalHours < 1 ? $"{span.Minutes} min {span.Seconds} s"
            : span.TotalDays < 1 ? $"{(int)span.TotalHours} h {span.Minutes} min"
            : $"{(int)span.TotalDays} d {span.Hours} h";
    }
}

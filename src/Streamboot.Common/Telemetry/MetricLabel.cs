using System.Collections.Frozen;
using System.Text;

namespace Streamboot.Telemetry;

/// <summary>
/// Label values from enums: the member's name in snake_case
/// (<c>SessionRefusal.KeyRejected</c> is <c>key_rejected</c>), made once per
/// enum. A value outside the enum is <c>other</c>, so a label's values are
/// bounded by the code, never by what a client sends.
/// </summary>
public static class MetricLabel
{
    public const string Other = "other";

    public static string Of<TEnum>(TEnum value)
        where TEnum : struct, Enum => Names<TEnum>.Labels.TryGetValue(value, out var label) ? label : Other;

    /// <summary><c>KeyRejected</c> is <c>key_rejected</c>, <c>NBD_EIO</c> stays lower case.</summary>
    public static string SnakeCase(string name)
    {
        var text = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]))))
            {
                text.Append('_');
            }

            text.Append(char.ToLowerInvariant(c));
        }

        return text.ToString();
    }

    private static class Names<TEnum>
        where TEnum : struct, Enum
    {
        public static readonly FrozenDictionary<TEnum, string> Labels =
            Enum.GetValues<TEnum>().Distinct().ToFrozenDictionary(v => v, v => SnakeCase(Enum.GetName(v)!));
    }
}

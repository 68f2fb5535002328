using System.Collections.Frozen;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Streamboot.Data;

/// <summary>Stores an enum as kebab-case text: <c>ServerDisk</c> is <c>server-disk</c>.</summary>
public sealed class KebabEnumConverter<T> : ValueConverter<T, string>
    where T : struct, Enum
{
    private static readonly FrozenDictionary<string, T> s_byText =
        Enum.GetValues<T>().ToFrozenDictionary(v => KebabCase.Of(v.ToString()), v => v, StringComparer.Ordinal);

    public KebabEnumConverter()
        : base(v => KebabCase.Of(v.ToString()), s => Parse(s))
    {
    }

    private static T Parse(string s) =>
        s_byText.TryGetValue(s, out var v) ? v : throw new InvalidDataException($"'{s}' is not a {typeof(T).Name} value");
}

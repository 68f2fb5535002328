using System.Globalization;
using System.Numerics;

namespace Streamboot;

/// <summary>
/// Sizes as admins type them: <c>512M</c>, <c>20G</c>, <c>1.5T</c>,
/// <c>4096</c>. Units are binary (K = 1024), as in qemu-img, so a disk made
/// with <c>--size 20G</c> here and with <c>qemu-img create ... 20G</c> is the
/// same size; <c>GB</c> and <c>GiB</c> are accepted as the same unit, and
/// <see cref="Help"/> says so wherever a size is asked for. Arithmetic is
/// in integers: a size is exact or refused.
/// </summary>
public static class ByteSize
{
    /// <summary>What a size option's help says about units.</summary>
    public const string Help = "K, M, G, T, P or E, powers of 1024 as in qemu-img (20G = 20GB = 20GiB = 21474836480 bytes); a fraction must make whole bytes (1.5G)";

    private static readonly string[] s_units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

    public static bool TryParse(string? text, out long bytes, out string error)
    {
        bytes = 0;
        error = "";
        var s = text?.Trim() ?? "";
        if (s.Length == 0)
        {
            error = "a size is required, for example 512M or 20G";
            return false;
        }

        var end = s.Length;
        // Optional "B" or "iB" after the unit letter (20G, 20GB, 20GiB).
        if (end > 0 && (s[end - 1] is 'B' or 'b'))
        {
            end--;
            if (end > 0 && (s[end - 1] is 'i' or 'I'))
            {
                end--;
            }
        }

        var shift = 0;
        if (end > 0 && char.IsAsciiLetter(s[end - 1]))
        {
            shift = char.ToUpperInvariant(s[end - 1]) switch
            {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                'P' => 50,
                'E' => 60,
                _ => -1,
            };
            if (shift < 0)
            {
                error = $"'{s}' has an unknown unit '{s[end - 1]}'; use K, M, G, T or P (powers of 1024), for example 20G";
                return false;
            }

            end--;
        }
        else if (end != s.Length && end > 0)
        {
            // "512B" means bytes.
            shift = 0;
        }

        var number = s[..end].Trim();
        if (!TryDecimal(number, out var digits, out var scale))
        {
            error = $"'{s}' is not a size; write a number and a unit, for example 512M or 20G";
            return false;
        }

        // Integers only: a double loses the low bits of sizes past 2^53 (9P).
        var scaled = digits << shift;
        var divisor = BigInteger.Pow(10, scale);
        if (scaled % divisor != 0)
        {
            error = $"'{s}' is not a whole number of bytes";
            return false;
        }

        var result = scaled / divisor;
        if (result > long.MaxValue)
        {
            error = $"'{s}' is too large";
            return false;
        }

        bytes = (long)result;
        return true;
    }

    /// <summary><c>1.5</c> as 15 and scale 1: digits and at most one point, nothing else.</summary>
    private static bool TryDecimal(string text, out BigInteger digits, out int scale)
    {
        digits = BigInteger.Zero;
        scale = 0;
        var point = text.IndexOf('.', StringComparison.Ordinal);
        var whole = point < 0 ? text : text[..point];
        var fraction = point < 0 ? "" : text[(point + 1)..];
        if (whole.Length + fraction.Length == 0 || !whole.All(char.IsAsciiDigit) || !fraction.All(char.IsAsciiDigit) || whole.Length + fraction.Length > 60)
        {
            return false;
        }

        digits = BigInteger.Parse(whole + fraction is { Length: > 0 } all ? all : "0", NumberStyles.None, CultureInfo.InvariantCulture);
        scale = fraction.Length;
        return true;
    }

    /// <summary>Human form with binary units: <c>20 GiB</c>, <c>1.5 MiB</c>.</summary>
    public static string Format(long bytes)
    {
        if (bytes < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        }

        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < s_units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return value.ToString(value >= 100 ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + s_units[unit];
    }
}

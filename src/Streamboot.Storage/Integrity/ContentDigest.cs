using System.Globalization;

namespace Streamboot.Storage.Integrity;

/// <summary>What a file's bytes are: their SHA-256 (64 lower-case hex digits) and their count.</summary>
public readonly record struct ContentDigest(string Sha256, long Length)
{
    /// <summary>Whether <paramref name="text"/> is a SHA-256 as this type writes it: 64 lower-case hex digits.</summary>
    public static bool IsWellFormed(string? text) =>
        text is { Length: 64 } && text.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    /// <summary>The first 12 hex digits, for tables and log lines (enough to tell copies apart at a glance).</summary>
    public string Short => Sha256.Length >= 12 ? Sha256[..12] : Sha256;

    public override string ToString() => $"sha256:{Sha256} ({Length.ToString(CultureInfo.InvariantCulture)} bytes)";
}

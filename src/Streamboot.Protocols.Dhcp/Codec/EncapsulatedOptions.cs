namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>
/// Sub-options inside one option (43 for PXE, 175 for iPXE): the same
/// code-length-value layout as the options field, ended by 255.
/// </summary>
public static class EncapsulatedOptions
{
    public static byte[] Build(params ReadOnlySpan<(byte Code, byte[] Value)> options)
    {
        var bytes = new List<byte>();
        foreach (var (code, value) in options)
        {
            if (value.Length > 255)
            {
                throw new ArgumentException($"sub-option {code} is longer than 255 bytes", nameof(options));
            }

            bytes.Add(code);
            bytes.Add((byte)value.Length);
            bytes.AddRange(value);
        }

        bytes.Add(255);
        return [.. bytes];
    }

    /// <summary>The sub-options, or null when one runs past the end of the value.</summary>
    public static IReadOnlyList<(byte Code, byte[] Value)>? Parse(ReadOnlySpan<byte> value)
    {
        var options = new List<(byte, byte[])>();
        var i = 0;
        while (i < value.Length && value[i] != 255)
        {
            if (value[i] == 0)
            {
                i++;
                continue;
            }

            if (i + 1 >= value.Length || i + 2 + value[i + 1] > value.Length)
            {
                return null;
            }

            options.Add((value[i], value.Slice(i + 2, value[i + 1]).ToArray()));
            i += 2 + value[i + 1];
        }

        return options;
    }
}

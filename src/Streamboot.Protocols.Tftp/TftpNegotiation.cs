using System.Globalization;

namespace Streamboot.Protocols.Tftp;

/// <summary>
/// What the server grants of the options a client asked for (RFC 2347:
/// unknown options are ignored, names compare case-insensitively, an OACK
/// goes out only when at least one option is granted).
/// </summary>
internal sealed record TftpNegotiation(int BlockSize, int WindowSize, TimeSpan Timeout, IReadOnlyList<KeyValuePair<string, string>> Acknowledged)
{
    public bool HasOptionAcknowledgment => Acknowledged.Count > 0;

    public static TftpNegotiation Negotiate(TftpRequest request, long fileLength, TftpServerOptions options)
    {
        var blockSize = TftpProtocol.DefaultBlockSize;
        var windowSize = 1;
        var timeout = options.RetransmitTimeout;
        var acknowledged = new List<KeyValuePair<string, string>>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var windowGranted = false;
        foreach (var (name, value) in request.Options)
        {
            // A repeated option: the first one counts.
            if (!seen.Add(name))
            {
                continue;
            }

            if (name.Equals(TftpProtocol.BlockSizeOption, StringComparison.OrdinalIgnoreCase))
            {
                // RFC 2348: below 8 is invalid (ignored); above what we allow, we answer smaller.
                if (TryParseNumber(value, out var asked) && asked >= TftpProtocol.MinBlockSize)
                {
                    blockSize = (int)Math.Min(asked, options.MaxBlockSize);
                    acknowledged.Add(new(TftpProtocol.BlockSizeOption, Format(blockSize)));
                }
            }
            else if (name.Equals(TftpProtocol.TransferSizeOption, StringComparison.OrdinalIgnoreCase))
            {
                // RFC 2349: on a read the server answers with the file's size. In
                // netascii the size on the wire is not known before the end, so the
                // option is left out rather than answered with a wrong number.
                if (request.Mode == TftpMode.Octet && TryParseNumber(value, out _))
                {
                    acknowledged.Add(new(TftpProtocol.TransferSizeOption, Format(fileLength)));
                }
            }
            else if (name.Equals(TftpProtocol.TimeoutOption, StringComparison.OrdinalIgnoreCase))
            {
                // RFC 2349: the OACK must carry the client's own value, so an
                // out-of-range one, or one longer than this server honours
                // (a slot held that long by a silent client), can only be ignored.
                if (TryParseNumber(value, out var seconds) && seconds >= TftpProtocol.MinTimeoutSeconds && seconds <= options.MaxTimeoutOption.TotalSeconds)
                {
                    timeout = TimeSpan.FromSeconds(seconds);
                    acknowledged.Add(new(TftpProtocol.TimeoutOption, Format(seconds)));
                }
            }
            else if (name.Equals(TftpProtocol.WindowSizeOption, StringComparison.OrdinalIgnoreCase))
            {
                // RFC 7440: 1 to 65535; the server may answer with a smaller window.
                if (TryParseNumber(value, out var window) && window is >= 1 and <= TftpProtocol.MaxWindowSize)
                {
                    // Bounded again by bytes below, once blksize is known.
                    windowSize = (int)Math.Min(window, options.MaxWindowSize);
                    windowGranted = true;
                    acknowledged.Add(new(TftpProtocol.WindowSizeOption, Format(windowSize)));
                }
            }
        }

        if (windowGranted)
        {
            var byBytes = Math.Max(1, options.MaxWindowBytes / blockSize);
            if (windowSize > byBytes)
            {
                windowSize = byBytes;
                var index = acknowledged.FindIndex(o => o.Key == TftpProtocol.WindowSizeOption);
                acknowledged[index] = new(TftpProtocol.WindowSizeOption, Format(windowSize));
            }
        }

        return new TftpNegotiation(blockSize, windowSize, timeout, acknowledged);
    }

    /// <summary>Decimal digits only; a number too long for a long reads as long.MaxValue so that clamping still works.</summary>
    private static bool TryParseNumber(string value, out long number)
    {
        number = 0;
        if (value.Length == 0)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            number = number > (long.MaxValue - 9) / 10 ? long.MaxValue : (number * 10) + (c - '0');
        }

        return true;
    }

    private static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}

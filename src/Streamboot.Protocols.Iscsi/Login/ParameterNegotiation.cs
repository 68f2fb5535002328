using System.Globalization;

namespace Streamboot.Protocols.Iscsi.Login;

/// <summary>
/// Answers the operational keys of one Login or Text request (RFC 7143
/// 6.2 and section 13): for each key the initiator offered, the value this
/// target agrees to, by the key's result function (minimum, maximum, OR,
/// AND, first acceptable of a list), and the settled values. Pure: the
/// connection applies them when the login completes.
/// </summary>
internal static class ParameterNegotiation
{
    /// <summary>Keys the login state machine answers itself (names, security); negotiation leaves them alone.</summary>
    private static readonly HashSet<string> s_loginKeys =
    [
        IscsiKeys.SessionType, IscsiKeys.InitiatorName, IscsiKeys.TargetName, IscsiKeys.InitiatorAlias,
        IscsiKeys.AuthMethod, IscsiKeys.ChapAlgorithm, IscsiKeys.ChapIdentifier, IscsiKeys.ChapChallenge,
        IscsiKeys.ChapName, IscsiKeys.ChapResponse, IscsiKeys.TargetAlias, IscsiKeys.TargetPortalGroupTag,
        IscsiKeys.TargetAddress, IscsiKeys.SendTargets,
    ];

    /// <summary>
    /// Negotiates every operational key in <paramref name="offered"/> into
    /// <paramref name="result"/> and <paramref name="settled"/>. False when
    /// the initiator offered something no answer can repair (a value out of
    /// its range that the RFC says ends the login); <paramref name="error"/> says which.
    /// </summary>
    public static bool Negotiate(TextParameters offered, TextParameters result, NegotiatedParameters settled, IscsiServerOptions limits, bool discovery, out string? error)
    {
        error = null;
        foreach (var (key, value) in offered.Pairs)
        {
            if (s_loginKeys.Contains(key))
            {
                continue;
            }

            switch (key)
            {
                case IscsiKeys.HeaderDigest:
                    result.Add(key, ChooseDigest(value, limits.AllowDigests, out var header));
                    settled.HeaderDigest = header;
                    break;
                case IscsiKeys.DataDigest:
                    result.Add(key, ChooseDigest(value, limits.AllowDigests, out var data));
                    settled.DataDigest = data;
                    break;
                case IscsiKeys.MaxRecvDataSegmentLength:
                    // Declarative (13.12): the initiator's limit on what we send; answered by declaring ours.
                    if (!TryRange(value, 512, IscsiProtocol.MaxDataSegmentLength, out var mrdsl))
                    {
                        error = $"{key}={TextParameters.Safe(value)} is outside 512 to 2^24-1";
                        return false;
                    }

                    settled.InitiatorMaxRecvDataSegmentLength = (int)mrdsl;
                    break;
                case IscsiKeys.MaxBurstLength:
                    if (!Numeric(result, key, value, 512, IscsiProtocol.MaxDataSegmentLength, discovery, out var burst))
                    {
                        break;
                    }

                    settled.MaxBurstLength = (int)Math.Min(burst, limits.MaxBurstLength);
                    settled.FirstBurstLength = Math.Min(settled.FirstBurstLength, settled.MaxBurstLength);
                    result.Add(key, settled.MaxBurstLength);
                    break;
                case IscsiKeys.FirstBurstLength:
                    if (!Numeric(result, key, value, 512, IscsiProtocol.MaxDataSegmentLength, discovery, out var first))
                    {
                        break;
                    }

                    settled.FirstBurstLength = (int)Math.Min(Math.Min(first, limits.FirstBurstLength), settled.MaxBurstLength);
                    result.Add(key, settled.FirstBurstLength);
                    break;
                case IscsiKeys.MaxOutstandingR2T:
                    if (Numeric(result, key, value, 1, 65535, discovery, out var r2t))
                    {
                        settled.MaxOutstandingR2T = (int)Math.Min(r2t, limits.MaxOutstandingR2T);
                        result.Add(key, settled.MaxOutstandingR2T);
                    }

                    break;
                case IscsiKeys.MaxConnections:
                    if (Numeric(result, key, value, 1, 65535, discovery, out var connections))
                    {
                        settled.MaxConnections = (int)Math.Min(connections, limits.MaxConnectionsPerSession);
                        result.Add(key, settled.MaxConnections);
                    }

                    break;
                case IscsiKeys.DefaultTime2Wait:
                    if (Numeric(result, key, value, 0, 3600, discovery: false, out var wait))
                    {
                        settled.DefaultTime2Wait = (int)Math.Max(wait, 2);
                        result.Add(key, settled.DefaultTime2Wait);
                    }

                    break;
                case IscsiKeys.DefaultTime2Retain:
                    if (Numeric(result, key, value, 0, 3600, discovery: false, out var retain))
                    {
                        // ErrorRecoveryLevel 0: nothing is kept for a reconnect, so retain nothing.
                        settled.DefaultTime2Retain = 0;
                        result.Add(key, Math.Min(retain, 0));
                    }

                    break;
                case IscsiKeys.ErrorRecoveryLevel:
                    if (Numeric(result, key, value, 0, 2, discovery: false, out _))
                    {
                        settled.ErrorRecoveryLevel = 0;
                        result.Add(key, 0);
                    }

                    break;
                case IscsiKeys.InitialR2T:
                    // OR: Yes if either side says Yes.
                    if (Boolean(result, key, value, discovery, out var initialR2T))
                    {
                        settled.InitialR2T = initialR2T || limits.InitialR2T;
                        result.Add(key, settled.InitialR2T ? IscsiKeys.Yes : IscsiKeys.No);
                    }

                    break;
                case IscsiKeys.ImmediateData:
                    // AND: Yes only if both say Yes.
                    if (Boolean(result, key, value, discovery, out var immediate))
                    {
                        settled.ImmediateData = immediate && limits.ImmediateData;
                        result.Add(key, settled.ImmediateData ? IscsiKeys.Yes : IscsiKeys.No);
                    }

                    break;
                case IscsiKeys.DataPduInOrder:
                case IscsiKeys.DataSequenceInOrder:
                    // OR with our Yes: data arrives in order, which is all this target accepts.
                    if (Boolean(result, key, value, discovery, out _))
                    {
                        result.Add(key, IscsiKeys.Yes);
                    }

                    break;
                case IscsiKeys.IfMarker:
                case IscsiKeys.OfMarker:
                    // RFC 3720 markers (removed by RFC 7143): AND with our No.
                    result.Add(key, IscsiKeys.No);
                    break;
                case IscsiKeys.IfMarkInt:
                case IscsiKeys.OfMarkInt:
                    result.Add(key, IscsiKeys.Irrelevant);
                    break;
                case IscsiKeys.TaskReporting:
                    result.Add(key, "RFC3720");
                    break;
                case IscsiKeys.IscsiProtocolLevel:
                    // RFC 7144: the minimum of both; this target implements RFC 7143 (level 1).
                    result.Add(key, TryRange(value, 0, 31, out var level) ? Math.Min(level, 1).ToString(CultureInfo.InvariantCulture) : IscsiKeys.Reject);
                    break;
                default:
                    result.Add(key, IscsiKeys.NotUnderstood);
                    break;
            }
        }

        return true;
    }

    private static string ChooseDigest(string offered, bool allowDigests, out bool crc)
    {
        crc = false;
        foreach (var option in offered.Split(','))
        {
            if (option == IscsiKeys.None)
            {
                return IscsiKeys.None;
            }

            if (option == IscsiKeys.Crc32C && allowDigests)
            {
                crc = true;
                return IscsiKeys.Crc32C;
            }
        }

        return IscsiKeys.Reject;
    }

    private static bool Numeric(TextParameters result, string key, string value, long min, long max, bool discovery, out long number)
    {
        number = 0;
        if (discovery)
        {
            // Only meaningful in a normal session (13.x: "Irrelevant when SessionType=Discovery").
            result.Add(key, IscsiKeys.Irrelevant);
            return false;
        }

        if (!TryRange(value, min, max, out number))
        {
            result.Add(key, IscsiKeys.Reject);
            return false;
        }

        return true;
    }

    private static bool Boolean(TextParameters result, string key, string value, bool discovery, out bool yes)
    {
        yes = value == IscsiKeys.Yes;
        if (discovery)
        {
            result.Add(key, IscsiKeys.Irrelevant);
            return false;
        }

        if (value is not (IscsiKeys.Yes or IscsiKeys.No))
        {
            result.Add(key, IscsiKeys.Reject);
            return false;
        }

        return true;
    }

    private static bool TryRange(string value, long min, long max, out long number) =>
        TextParameters.TryParseNumber(value, out number) && number >= min && number <= max;
}
